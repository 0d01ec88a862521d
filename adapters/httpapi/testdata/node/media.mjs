// Drives taskrouter's relayed media routes with the official OpenAI Node
// client and prints what it saw as one JSON object, for
// TestOpenAINodeClientMedia to check. Env: TR_BASE_URL (ends in /v1),
// TR_API_KEY.
import OpenAI, { toFile } from "openai";

const client = new OpenAI({ baseURL: process.env.TR_BASE_URL, apiKey: process.env.TR_API_KEY, maxRetries: 0, timeout: 30000 });
const out = {};

const img = await client.images.generate({ model: "dall-e-3", prompt: "a red fox in the snow", size: "32x24", response_format: "b64_json" });
const png = Buffer.from(img.data[0].b64_json, "base64");
out.image = { bytes: png.length, signature: png.subarray(1, 4).toString("latin1"), width: png.readUInt32BE(16), height: png.readUInt32BE(20) };

const speech = await client.audio.speech.create({ model: "tts-1", input: "Bonjour le renard.", voice: "nova", response_format: "wav" });
const wav = Buffer.from(await speech.arrayBuffer());
out.speech = { type: speech.headers.get("content-type"), bytes: wav.length, riff: wav.subarray(0, 4).toString("latin1") };

const tr = await client.audio.transcriptions.create({ model: "whisper-1", file: await toFile(wav, "speech.wav", { type: "audio/wav" }), language: "fr" });
out.transcript = tr.text;

try {
  // A PNG that says it is a WAV file.
  const png = Buffer.from("89504e470d0a1a0a0000000d494844520000000100000001080600000000", "hex");
  await client.audio.transcriptions.create({ model: "whisper-1", file: await toFile(png, "memo.wav", { type: "audio/wav" }) });
  out.bad = { status: 200 };
} catch (e) {
  out.bad = { status: e.status, code: e.code, param: e.param, is_bad_request: e instanceof OpenAI.BadRequestError };
}
console.log(JSON.stringify(out));
