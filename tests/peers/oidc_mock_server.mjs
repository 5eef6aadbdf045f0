// A real OpenID Connect provider for the tests: oauth2-mock-server on a loopback port,
// steered by JSON lines on stdin (each answered by one line on stdout):
//   {"cmd": "id_token", "claims": {...}}  claims merged into every later ID token
//                                          (email, email_verified, aud, nonce, ...)
//   {"cmd": "token_error", "error": "invalid_grant", "description": "..."}
//                                          the next token request fails like that
//   {"cmd": "rotate"}                      sign with a brand-new key from now on
//   {"cmd": "reset"}                       back to the defaults
// The first stdout line is {"issuer": "http://127.0.0.1:<port>"}.
import readline from "node:readline";
import { pathToFileURL } from "node:url";

const { OAuth2Server } = await import(pathToFileURL(process.env.OAUTH2_MOCK_SERVER_MODULE).href);

const server = new OAuth2Server();
let currentKid = (await server.issuer.keys.generate("RS256")).kid;
const keys = server.issuer.keys;
const pick = keys.get.bind(keys);
keys.get = (kid) => pick(kid ?? currentKid); // always sign with the current key

const defaults = () => ({ email: "ana@example.com", email_verified: true, name: "Ana Example" });
let idTokenClaims = defaults();
let tokenError = null;

server.service.on("beforeTokenSigning", (token) => {
  const isIdToken = "aud" in token.payload && !("scope" in token.payload);
  if (isIdToken) Object.assign(token.payload, idTokenClaims);
});
server.service.on("beforeResponse", (response) => {
  if (tokenError) {
    response.statusCode = 400;
    response.body = tokenError;
    tokenError = null;
  }
});

await server.start(0, "127.0.0.1");
server.issuer.url = `http://127.0.0.1:${server.address().port}`; // not "localhost"
console.log(JSON.stringify({ issuer: server.issuer.url }));

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  const msg = JSON.parse(line);
  if (msg.cmd === "id_token") idTokenClaims = { ...idTokenClaims, ...msg.claims };
  else if (msg.cmd === "token_error")
    tokenError = { error: msg.error, error_description: msg.description ?? msg.error };
  else if (msg.cmd === "rotate") currentKid = (await keys.generate("RS256")).kid;
  else if (msg.cmd === "reset") {
    idTokenClaims = defaults();
    tokenError = null;
  }
  console.log(JSON.stringify({ ok: true, kid: currentKid }));
});
rl.on("close", async () => {
  await server.stop();
  process.exit(0);
});
