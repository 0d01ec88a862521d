// Drives taskrouter's files API and image content parts with the official
// OpenAI Node client and prints what it saw as one JSON object, for
// TestOpenAINodeClientFiles to check. Env: TR_BASE_URL (ends in /v1),
// TR_API_KEY, TR_FILE (a PNG to upload).
import fs from "node:fs";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.TR_BASE_URL, apiKey: process.env.TR_API_KEY, maxRetries: 0, timeout: 30000 });
const out = {};

const created = await client.files.create({ file: fs.createReadStream(process.env.TR_FILE), purpose: "vision" });
out.created = created;
out.retrieved = await client.files.retrieve(created.id);
const content = await client.files.content(created.id);
const bytes = Buffer.from(await content.arrayBuffer());
out.content = { type: content.headers.get("content-type"), bytes: bytes.length, same: bytes.equals(fs.readFileSync(process.env.TR_FILE)) };

const png = fs.readFileSync(process.env.TR_FILE).toString("base64");
const c = await client.chat.completions.create({
  model: "taskrouter",
  messages: [{ role: "user", content: [
    { type: "text", text: "What size is this image? Then make it grayscale and 128 px wide." },
    { type: "image_url", image_url: { url: "data:image/png;base64," + png } },
  ] }],
});
out.chat = c.choices[0].message.content;

try {
  await client.chat.completions.create({
    model: "taskrouter",
    messages: [{ role: "user", content: [
      { type: "text", text: "What size is this image?" },
      { type: "image_url", image_url: { url: "data:image/png;base64," + Buffer.from("not an image").toString("base64") } },
    ] }],
  });
  out.bad = { status: 200 };
} catch (e) {
  out.bad = { status: e.status, code: e.code, param: e.param, is_bad_request: e instanceof OpenAI.BadRequestError };
}

out.deleted = await client.files.delete(created.id);
try {
  await client.files.retrieve(created.id);
  out.gone = { status: 200 };
} catch (e) {
  out.gone = { status: e.status, is_not_found: e instanceof OpenAI.NotFoundError };
}
console.log(JSON.stringify(out));
