// The OpenAI-compatible gateway (/v1 on the control plane, docs/gateway.md) as a user of the service detail page
// copies it: the base URL and ready-to-run snippets for the official OpenAI SDKs and curl.

export type SnippetLanguage = "python" | "javascript" | "curl";

export const SNIPPET_LANGUAGES: readonly { id: SnippetLanguage; label: string }[] = [
  { id: "python", label: "Python" },
  { id: "javascript", label: "JavaScript" },
  { id: "curl", label: "curl" },
];

/** The gateway's base URL for a UI served from `origin` (the UI and the gateway are the same server). */
export function gatewayBaseUrl(origin: string): string {
  return `${origin.replace(/\/+$/, "")}/v1`;
}

/** True when the gateway forwards requests to the service now (Running or Degraded). */
export function servedByGateway(state: string): boolean {
  return state === "Running" || state === "Degraded";
}

/**
 * A snippet that sends one chat completion to `model` through the gateway. The key is a placeholder (`authRequired`:
 * the server wants one) or any string (no keys configured: the SDKs insist on one).
 */
export function gatewaySnippet(language: SnippetLanguage, baseUrl: string, model: string, authRequired: boolean): string {
  const key = authRequired ? "<your API key>" : "unused";
  const m = JSON.stringify(model);
  switch (language) {
    case "python":
      return [
        "from openai import OpenAI",
        "",
        `client = OpenAI(base_url=${JSON.stringify(baseUrl)}, api_key=${JSON.stringify(key)})`,
        "reply = client.chat.completions.create(",
        `    model=${m},`,
        '    messages=[{"role": "user", "content": "Hello!"}],',
        ")",
        "print(reply.choices[0].message.content)",
      ].join("\n");
    case "javascript":
      return [
        'import OpenAI from "openai";',
        "",
        `const client = new OpenAI({ baseURL: ${JSON.stringify(baseUrl)}, apiKey: ${JSON.stringify(key)} });`,
        "const reply = await client.chat.completions.create({",
        `  model: ${m},`,
        '  messages: [{ role: "user", content: "Hello!" }],',
        "});",
        "console.log(reply.choices[0].message.content);",
      ].join("\n");
    case "curl":
      return [
        `curl ${baseUrl}/chat/completions \\`,
        '  -H "Content-Type: application/json" \\',
        ...(authRequired ? [`  -H "Authorization: Bearer ${key}" \\`] : []),
        `  -d '${JSON.stringify({ model, messages: [{ role: "user", content: "Hello!" }] })}'`,
      ].join("\n");
  }
}
