"""Kopf operator reconciling ProviderTenant resources."""
