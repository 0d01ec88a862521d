package memory

// calibrationTexts are English and Chinese prose written for calibrating
// the token estimate against tiktoken's encodings.
var calibrationTexts = map[string]string{
	"english": `The support team answers tickets from customers in twelve countries. Most questions are about invoices, passwords and delivery dates, and a few are about the product's roadmap. When a ticket arrives, an agent reads the whole thread, checks the customer's account, and writes a short answer that says what happened and what will happen next. Long threads are the hard part: a customer who wrote five times last month expects the agent to remember every detail, including the order number from the first message and the promise made in the third. We measured how long agents spend scrolling back through old messages, and it was close to a fifth of their day. A tool that keeps the important facts of each conversation, and shows them when they matter, would save that time. It must never invent facts, and it must say where each one came from, so that the agent can check it before repeating it to the customer. Dates, amounts and names matter most; greetings and apologies matter least.`,
	"chinese": `客服团队每天处理来自十二个国家的工单。大多数问题与发票、密码和送货日期有关，也有一些涉及产品的路线图。工单到达时，客服人员会阅读整个对话，检查客户的账户，然后写一个简短的回答，说明发生了什么以及接下来会发生什么。长对话是最难的部分：上个月写过五次信的客户，希望客服记得每一个细节，包括第一封信里的订单号和第三封信里做出的承诺。我们统计了客服人员翻看旧消息所花的时间，接近他们一天工作的五分之一。一个能记住每段对话的重要事实、并在需要时显示出来的工具，可以节省这些时间。它绝不能编造事实，而且必须说明每个事实的来源，这样客服人员在告诉客户之前可以先核实。日期、金额和名字最重要；问候和道歉最不重要。`,
	"mixed":   `我们在 2025 年 3 月把 API 网关迁移到了 NATS JetStream，延迟从 45 ms 降到了 12 ms。The migration took three sprints, and the main risk was the key-value store's revision checks, which we had to test under load with 1,000 concurrent writers.`,
}
