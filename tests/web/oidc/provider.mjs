// A real, certified OpenID provider (oidc-provider) on loopback for credx's sign-in tests.
// Usage: node provider.mjs PORT ACCOUNTS.json CLIENTS.json
// Accounts are re-read on every lookup, so a test can move a user between groups.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const [port, accountsFile, clientsFile] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const accounts = () => JSON.parse(readFileSync(accountsFile, "utf8"));

const provider = new Provider(issuer, {
  clients: JSON.parse(readFileSync(clientsFile, "utf8")),
  pkce: { required: () => true },
  scopes: ["openid", "email", "profile", "groups"],
  claims: { openid: ["sub"], email: ["email"], profile: ["name"], groups: ["groups"] },
  conformIdTokenClaims: false, // the ID token carries the granted claims (groups), as Entra's does
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(_ctx, sub) {
    const account = accounts()[sub];
    if (!account) return undefined;
    return { accountId: sub, async claims() { return { sub, ...account }; } };
  },
  loadExistingGrant: async (ctx) => {
    // first-party client: consent is implied for the scopes it asks
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile groups");
    grant.addOIDCClaims(["email", "name", "groups"]);
    await grant.save();
    return grant;
  },
});
provider.proxy = false;
provider.on("server_error", (_ctx, err) => console.error("server_error", err));
provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`ready ${issuer}`);
});
