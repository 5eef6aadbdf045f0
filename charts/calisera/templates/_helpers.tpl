{{/* Shared names, labels and pod pieces of the Calisera chart. */}}

{{- define "calisera.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "calisera.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component: (dict "root" $ "component" "listing") */}}
{{- define "calisera.componentName" -}}
{{- printf "%s-%s" (include "calisera.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "calisera.chartLabel" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "listing") */}}
{{- define "calisera.selectorLabels" -}}
app.kubernetes.io/name: {{ include "calisera.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of one component: (dict "root" $ "component" "listing") */}}
{{- define "calisera.labels" -}}
helm.sh/chart: {{ include "calisera.chartLabel" .root }}
{{ include "calisera.selectorLabels" . }}
app.kubernetes.io/part-of: calisera
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{- define "calisera.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if eq $tag "latest" -}}{{- fail "image.tag must not be \"latest\": pin a version" -}}{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{/* Name of the Secret holding a connection value: (dict "root" $ "ref" .Values.database) */}}
{{- define "calisera.secretName" -}}
{{- if .ref.existingSecret -}}{{ .ref.existingSecret }}{{- else -}}{{ include "calisera.fullname" .root }}-connections{{- end -}}
{{- end -}}

{{/* Environment shared by every Calisera container. */}}
{{- define "calisera.env" -}}
- name: CALISERA_PUBLIC_URL
  value: {{ .Values.publicUrl | quote }}
- name: CALISERA_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: CALISERA_LOG_JSON
  value: "true"
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "calisera.secretName" (dict "root" . "ref" .Values.database) }}
      key: {{ .Values.database.secretKey }}
- name: CALISERA_BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "calisera.secretName" (dict "root" . "ref" .Values.broker) }}
      key: {{ .Values.broker.secretKey }}
- name: CALISERA_CACHE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "calisera.secretName" (dict "root" . "ref" .Values.cache) }}
      key: {{ .Values.cache.secretKey }}
- name: CALISERA_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "calisera.secretName" (dict "root" . "ref" .Values.adminToken) }}
      key: {{ .Values.adminToken.secretKey }}
{{- if .Values.email.enabled }}
- name: CALISERA_SMTP_URL
  value: {{ required "email.smtpUrl is required (smtp://host:port), or set email.enabled: false to run without e-mail" .Values.email.smtpUrl | quote }}
{{- end }}
{{- if and .Values.otel.enabled .Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otel.endpoint | quote }}
{{- end }}
{{- $root := . }}
{{- range $name, $svc := .Values.services }}
{{- if and $svc.enabled (ne $name "web") }}
- name: CALISERA_{{ upper $name }}_URL
  value: {{ printf "http://%s:%v" (include "calisera.componentName" (dict "root" $root "component" $name)) (include "calisera.servicePort" (dict "root" $root "name" $name)) | quote }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Effective settings of one HTTP service: serviceDefaults merged with its overrides. */}}
{{- define "calisera.serviceConfig" -}}
{{- $svc := index .root.Values.services .name -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.serviceDefaults) (deepCopy $svc)) -}}
{{- end -}}

{{- define "calisera.servicePort" -}}
{{- (include "calisera.serviceConfig" .) | fromYaml | dig "port" 8000 -}}
{{- end -}}

{{/* Effective settings of one worker: workerDefaults merged with its overrides. */}}
{{- define "calisera.workerConfig" -}}
{{- $w := index .root.Values.workers .name -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.workerDefaults) (deepCopy $w)) -}}
{{- end -}}

{{/* Pod-level fields shared by every pod. */}}
{{- define "calisera.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A writable /tmp: the root filesystem is read-only. */}}
{{- define "calisera.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "calisera.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "calisera.podAnnotations" -}}
checksum/connections: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Probes of the processes without an HTTP port (relay, workers): the main process must be
running, not stopped or a zombie. A heartbeat file written by the relay and the workers
would be a stronger signal; the CLI does not write one yet.
*/}}
{{- define "calisera.processProbes" -}}
livenessProbe:
  exec:
    command: ["python", "-c", "import sys; s = open('/proc/1/status').read(); sys.exit(1 if ('State:\\tZ' in s or 'State:\\tT' in s) else 0)"]
  periodSeconds: 30
  timeoutSeconds: 5
readinessProbe:
  exec:
    command: ["python", "-c", "import sys; s = open('/proc/1/status').read(); sys.exit(1 if ('State:\\tZ' in s or 'State:\\tT' in s) else 0)"]
  periodSeconds: 30
  timeoutSeconds: 5
{{- end -}}
