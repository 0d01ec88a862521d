// Drives taskrouter's /v1 API with the official OpenAI Node client and
// prints what it saw as one JSON object, for TestOpenAINodeClient to check.
// Env: TR_BASE_URL (ends in /v1), TR_API_KEY, TR_MODEL.
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

console.log(JSON.stringify(out));
