// A producer with the official nats npm client: it logs in with its user,
// receives under its inbox prefix, sends a Request on tr.v1.req with an
// events_subject in its inbox, and tries to read the models' subjects.
// It prints one JSON report on stdout.
import { connect, createInbox, JSONCodec } from "nats";

const env = process.env;
const report = { answer: null, error: null, events: 0, refused: null };
const nc = await connect({
  servers: env.NATS_URL,
  user: env.NATS_USER,
  pass: env.NATS_PASS,
  inboxPrefix: env.INBOX_PREFIX,
  maxReconnectAttempts: 0,
});
const jc = JSONCodec();

const eventsSubject = createInbox(env.INBOX_PREFIX);
const events = nc.subscribe(eventsSubject, { callback: (err) => { if (!err) report.events++; } });

const refused = new Promise((resolve) => {
  nc.subscribe("tr.v1.model.>", {
    callback: (err) => resolve(err ? String(err.code || err.message) : "got a message"),
  });
  setTimeout(() => resolve("no error within 5s"), 5000);
});

try {
  const msg = await nc.request("tr.v1.req", jc.encode({ input: env.INPUT, events_subject: eventsSubject }), { timeout: 30000 });
  const resp = jc.decode(msg.data);
  report.answer = resp.answer;
  report.error = resp.error || null;
} catch (err) {
  report.error = String(err);
}
report.refused = await refused;
events.unsubscribe();
console.log(JSON.stringify(report));
await nc.close().catch(() => {});
