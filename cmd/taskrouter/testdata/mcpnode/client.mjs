// Drives taskrouter's MCP server with the official MCP TypeScript SDK's
// client and prints what it saw as one JSON object, for TestMCPNodeClient
// to check. Env: TR_MCP_COMMAND and TR_MCP_ARGS (a JSON array) to start
// `taskrouter mcp` over stdio, or TR_MCP_URL and TR_MCP_KEY for streamable
// HTTP. The long call is cancelled when a line arrives on standard input,
// which the test sends once the slow model's upstream has the request.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createInterface } from "node:readline";

const out = {};
const log = (...a) => process.stderr.write(a.join(" ") + "\n");

function transport(key) {
  if (process.env.TR_MCP_URL) {
    return new StreamableHTTPClientTransport(new URL(process.env.TR_MCP_URL), {
      requestInit: key ? { headers: { Authorization: `Bearer ${key}` } } : {},
    });
  }
  return new StdioClientTransport({
    command: process.env.TR_MCP_COMMAND,
    args: JSON.parse(process.env.TR_MCP_ARGS || "[]"),
    env: { ...process.env },
    stderr: "inherit",
  });
}

async function connect(key) {
  const client = new Client({ name: "taskrouter-test", version: "1.0.0" });
  await client.connect(transport(key));
  return client;
}

// Over HTTP, a client without the key is refused.
if (process.env.TR_MCP_URL) {
  try {
    await connect("");
    out.no_key = { connected: true };
  } catch (e) {
    out.no_key = { connected: false, message: String(e.message || e) };
  }
}

const client = await connect(process.env.TR_MCP_KEY);
// What the client's protocol layer reports, such as a progress
// notification it could not match to a call.
out.client_errors = [];
client.onerror = (e) => out.client_errors.push(String(e.message || e));
out.server = client.getServerVersion();
out.instructions = client.getInstructions();

const { tools } = await client.listTools();
out.tools = tools.map((t) => ({
  name: t.name, title: t.title, description: t.description, input_schema: t.inputSchema,
  has_output_schema: !!t.outputSchema, annotations: t.annotations,
}));

// ask, with a progress token: the SDK sets one when onprogress is given.
const progress = [];
const ask = await client.callTool({ name: "ask", arguments: { input: "What is 17 * 23 + 4?" } }, undefined,
  { onprogress: (p) => progress.push(p) });
out.ask = { text: ask.content.map((c) => c.text).join(""), structured: ask.structuredContent, is_error: !!ask.isError, progress };

const plan = await client.callTool({ name: "plan", arguments: { input: "Summarize this text and extract its keywords: 'NATS connects services. Teams use it for streaming.'" } });
out.plan = { text: plan.content[0].text, structured: plan.structuredContent, is_error: !!plan.isError };

const models = await client.callTool({ name: "models", arguments: { capability: "calc" } });
out.models = { structured: models.structuredContent, is_error: !!models.isError };

// Bad arguments: a tool error the calling model can read and fix.
const bad = await client.callTool({ name: "ask", arguments: { inptu: "What is 2+2?" } });
out.bad_args = { is_error: !!bad.isError, text: bad.content.map((c) => c.text).join("") };

// A malformed call: a protocol error.
try {
  await client.callTool({ name: "translate", arguments: { input: "x" } });
  out.unknown_tool = { thrown: false };
} catch (e) {
  out.unknown_tool = { thrown: true, code: e.code, message: e.message };
}

// Cancel a long call once the test says its upstream has it and the
// call's progress says it runs.
const lines = createInterface({ input: process.stdin });
const go = new Promise((resolve) => lines.once("line", resolve));
const ac = new AbortController();
const slowProgress = [];
let runs;
const running = new Promise((resolve) => { runs = resolve; });
const slow = client.callTool({ name: "ask", arguments: { input: "Write a long story", model: "slow" } }, undefined,
  {
    signal: ac.signal, timeout: 120000,
    onprogress: (p) => {
      slowProgress.push(p.message);
      if (/ running on /.test(p.message)) runs();
    },
  });
process.stdout.write("READY\n"); // the slow call is sent
await Promise.all([go, running]);
ac.abort("the user changed their mind");
try {
  await slow;
  out.cancel = { rejected: false };
} catch (e) {
  out.cancel = { rejected: true, message: String(e.message || e), progress: slowProgress };
}
lines.close();

// The session still serves.
const after = await client.callTool({ name: "ask", arguments: { input: "What is 2^10?" } });
out.after_cancel = after.content.map((c) => c.text).join("");

await client.close();
out.client_errors = out.client_errors.filter((m) => !/AbortError|aborted|closed/i.test(m));
process.stdout.write(JSON.stringify(out) + "\n");
log("done");
