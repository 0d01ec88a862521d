// Drives taskrouter's /v1 API with the official OpenAI Node client and
// prints what it saw as one JSON object, for TestOpenAINodeClient to check.
// Env: TR_BASE_URL (ends in /v1), TR_API_KEY, TR_MODEL; TR_TOOLS_BASE_URL,
// when set, is a server whose model "m" answers with tool calls;
// TR_RELAY_MODEL, when set, is a model that also embeds and completes.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.TR_BASE_URL, apiKey: process.env.TR_API_KEY, maxRetries: 0, timeout: 30000 });
const model = process.env.TR_MODEL;
const messages = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Hello" },
  { role: "assistant", content: "Hi!" },
  { role: "user", content: "Tell me about foxes." },
];
const out = {};

const c = await client.chat.completions.create({ model, messages });
out.completion = {
  id: c.id, object: c.object, model: c.model, created: c.created,
  content: c.choices[0].message.content, role: c.choices[0].message.role,
  finish_reason: c.choices[0].finish_reason, usage: c.usage,
};

const stream = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
const s = { chunks: 0, content_chunks: 0, content: "", finish_reason: null, usage: null, ids: new Set() };
for await (const chunk of stream) {
  s.chunks++;
  s.ids.add(chunk.id);
  if (chunk.object !== "chat.completion.chunk") throw new Error("chunk object " + chunk.object);
  if (chunk.usage) s.usage = chunk.usage;
  const choice = chunk.choices[0];
  if (!choice) continue;
  if (choice.delta?.content) { s.content += choice.delta.content; s.content_chunks++; }
  if (choice.finish_reason) s.finish_reason = choice.finish_reason;
}
out.stream = { ...s, ids: s.ids.size };

// The stream helper assembles the final completion from the chunks.
const runner = client.chat.completions.stream({ model, messages });
const final = await runner.finalChatCompletion();
out.helper = { content: final.choices[0].message.content, finish_reason: final.choices[0].finish_reason };

// A model called by name answers as its upstream does: logprobs and the
// system fingerprint come back, streamed or not.
const lp = await client.chat.completions.create({ model, messages, logprobs: true, top_logprobs: 2, user: "u-1", metadata: { k: "v" }, store: false });
out.logprobs = {
  fingerprint: lp.system_fingerprint, tokens: lp.choices[0].logprobs?.content?.length ?? 0,
  top: lp.choices[0].logprobs?.content?.[0]?.top_logprobs?.length ?? 0,
};
const lps = await client.chat.completions.create({ model, messages, logprobs: true, stream: true });
out.logprobs_stream = { tokens: 0, fingerprint: null };
for await (const chunk of lps) {
  out.logprobs_stream.tokens += chunk.choices[0]?.logprobs?.content?.length ?? 0;
  out.logprobs_stream.fingerprint = chunk.system_fingerprint ?? out.logprobs_stream.fingerprint;
}

const relayModel = process.env.TR_RELAY_MODEL;
if (relayModel) {
  // The client asks for base64 unless told otherwise, and decodes it.
  const emb = await client.embeddings.create({ model: relayModel, input: ["The fox.", "The dog."] });
  out.embeddings = {
    object: emb.object, model: emb.model, count: emb.data.length, dims: emb.data[0].embedding.length,
    floats: emb.data.every((d) => Array.isArray(d.embedding) && d.embedding.every((x) => typeof x === "number")),
    prompt_tokens: emb.usage.prompt_tokens,
  };
  const comp = await client.completions.create({ model: relayModel, prompt: "Once upon a time", max_tokens: 3 });
  out.legacy = { object: comp.object, model: comp.model, text: comp.choices[0].text, finish_reason: comp.choices[0].finish_reason };
  const cs = await client.completions.create({ model: relayModel, prompt: "Once", stream: true });
  out.legacy_stream = { text: "", chunks: 0 };
  for await (const chunk of cs) {
    out.legacy_stream.text += chunk.choices[0]?.text ?? "";
    out.legacy_stream.chunks++;
  }
  try {
    await client.embeddings.create({ model, input: "x" });
    out.lacks = "no error";
  } catch (e) {
    out.lacks = { status: e.status, code: e.code, param: e.param, is_bad_request: e instanceof OpenAI.BadRequestError };
  }
}

const models = [];
for await (const m of client.models.list()) models.push(m.id);
out.models = models;

try {
  await client.chat.completions.create({ model: "no-such-model", messages });
  out.not_found = "no error";
} catch (e) {
  out.not_found = { status: e.status, code: e.code, type: e.type, param: e.param, is_not_found: e instanceof OpenAI.NotFoundError };
}

try {
  const bad = new OpenAI({ baseURL: process.env.TR_BASE_URL, apiKey: "sk-wrong", maxRetries: 0 });
  await bad.chat.completions.create({ model, messages });
  out.bad_key = "no error";
} catch (e) {
  out.bad_key = { status: e.status, code: e.code, is_auth: e instanceof OpenAI.AuthenticationError };
}

if (process.env.TR_TOOLS_BASE_URL) {
  const tc = new OpenAI({ baseURL: process.env.TR_TOOLS_BASE_URL, apiKey: "sk-unused", maxRetries: 0, timeout: 30000 });
  const tools = [
    { type: "function", function: { name: "get_weather", description: "The weather in a city.",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
    { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } },
  ];
  const params = {
    model: "m", tools, tool_choice: "auto", parallel_tool_calls: true,
    messages: [
      { role: "user", content: "Weather and time in Oslo?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_0", type: "function", function: { name: "get_weather", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "call_0", content: "city missing" },
    ],
  };
  const calls = (message) => (message.tool_calls ?? []).map((c) => ({ id: c.id, type: c.type, name: c.function.name, arguments: c.function.arguments }));

  const tcomp = await tc.chat.completions.create(params);
  const m = tcomp.choices[0].message;
  out.tools = { content: m.content, calls: calls(m), finish_reason: tcomp.choices[0].finish_reason };

  // Streamed, the calls are put together from their deltas by index.
  const tstream = await tc.chat.completions.create({ ...params, stream: true });
  const acc = [];
  let finish = null;
  for await (const chunk of tstream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    for (const d of choice.delta?.tool_calls ?? []) {
      const c = (acc[d.index] ??= { id: "", type: "", name: "", arguments: "" });
      if (d.id) c.id = d.id;
      if (d.type) c.type = d.type;
      if (d.function?.name) c.name += d.function.name;
      if (d.function?.arguments) c.arguments += d.function.arguments;
    }
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  out.tools_stream = { calls: acc, finish_reason: finish };

  // The stream helper checks every call has its id, type, name and arguments.
  const tfinal = await tc.chat.completions.stream(params).finalChatCompletion();
  out.tools_helper = { calls: calls(tfinal.choices[0].message), finish_reason: tfinal.choices[0].finish_reason };
}

console.log(JSON.stringify(out));
