// A producer's durable request with the official nats npm client: it
// publishes a Request with JetStream's publish API and a message id on
// tr.v1.jobs.<its user>, publishes it again (a duplicate), then reads its
// result with a direct get of tr.v1.results.<its user>.<id>, which is all
// its permissions allow, and tries another producer's result. It prints
// one JSON report on stdout.
import { connect, JSONCodec } from "nats";

const env = process.env;
const report = { stream: null, duplicate: null, id: null, answer: null, error: null, refused: null };
const nc = await connect({
  servers: env.NATS_URL,
  user: env.NATS_USER,
  pass: env.NATS_PASS,
  inboxPrefix: `_INBOX.${env.NATS_USER}`,
  maxReconnectAttempts: 0,
});
const jc = JSONCodec();
const js = nc.jetstream();
const request = jc.encode({ model: env.MODEL, input: env.INPUT });
const ack = await js.publish(`tr.v1.jobs.${env.NATS_USER}`, request, { msgID: env.ID });
const again = await js.publish(`tr.v1.jobs.${env.NATS_USER}`, request, { msgID: env.ID });
report.stream = ack.stream;
report.duplicate = again.duplicate;

// checkAPI: false, as a producer may not ask JetStream about the account.
const jsm = await nc.jetstreamManager({ checkAPI: false });
const deadline = Date.now() + 60000;
while (Date.now() < deadline) {
  try {
    const m = await jsm.direct.getMessage("TR_RESULTS", { last_by_subj: `tr.v1.results.${env.NATS_USER}.${env.ID}` });
    const resp = m.json();
    report.id = resp.id;
    report.answer = resp.answer;
    report.error = resp.error || null;
    break;
  } catch (err) {
    if (err.code !== "404") {
      report.error = String(err);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
try {
  await jsm.direct.getMessage("TR_RESULTS", { last_by_subj: `tr.v1.results.someone-else.${env.ID}` });
  report.refused = "read another producer's result";
} catch (err) {
  report.refused = String(err.code || err.message);
}
console.log(JSON.stringify(report));
await nc.close().catch(() => {});
