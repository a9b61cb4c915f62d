// A fake Telegram Bot API server for the browser tests (plain node:http, no packages).
//
// The messenger's bot (teloxide) calls POST /bot<token>/<Method> with a JSON body; methods
// come PascalCase (GetMe, GetUpdates, SendMessage) and are matched case-insensitively, as
// Telegram does. Every answer is {"ok":true,"result":...}:
//   getMe        the bot @e2e_messenger_bot
//   getUpdates   the queued updates from `offset` on, or, with none, a long poll of at most 1 s
//   sendMessage  recorded, and answered with the new Message
//   anything else  true
//
// The tests play the Telegram user through control endpoints:
//   POST /control/push {chat_id, text, name?, reply_to?}  queues a private message to the bot
//        (a leading /command gets its bot_command entity; reply_to quotes a message the bot
//        sent); answers {update_id, message_id}
//   GET  /control/sent[?chat_id=C]  what the bot sent: [{message_id, chat_id, text, reply_to}]
//   GET  /control/health            200 once listening (Playwright waits for it)
//
// Usage: node fake-telegram.mjs [port]   (or E2E_TELEGRAM_PORT; 3198 by default)

import http from "node:http";

const port = Number(process.argv[2] ?? process.env.E2E_TELEGRAM_PORT ?? 3198);
const BOT = {
  id: 7000000001,
  is_bot: true,
  first_name: "E2E Bot",
  username: "e2e_messenger_bot",
};
/** Long polls wait at most this long, whatever timeout the bot asks for. */
const LONG_POLL_CAP_MS = 1000;

let nextUpdateId = 500000001;
let nextMessageId = 1;
/** Updates not yet confirmed by a getUpdates offset above their id, oldest first. */
let queue = [];
/** Every message the bot sent, in order. */
const sent = [];
/** Every message in any chat, by message_id (to quote in replies). */
const messages = new Map();
/** The private chats the fake knows: chat id -> the user's first name. */
const chats = new Map();
/** Long polls waiting for an update: each is a function that answers it now. */
let waiting = [];

const now = () => Math.floor(Date.now() / 1000);
const privateChat = (id) => ({ id, type: "private", first_name: chats.get(id) ?? "X" });

/** The length of a leading bot command (`/start`, `/start@bot`), if the text has one. */
function commandLength(text) {
  const match = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
  return match ? match[0].length : 0;
}

/** Queues a private text message from user `chatId` to the bot; returns its ids. */
function push({ chat_id: chatId, text, name = "Ann", reply_to: replyTo }) {
  const chatIdNumber = Number(chatId);
  chats.set(chatIdNumber, name);
  const message = {
    message_id: nextMessageId++,
    date: now(),
    chat: privateChat(chatIdNumber),
    from: { id: chatIdNumber, is_bot: false, first_name: name, language_code: "en" },
    text: String(text),
  };
  const length = commandLength(message.text);
  if (length > 0) {
    message.entities = [{ type: "bot_command", offset: 0, length }];
  }
  if (replyTo !== undefined && replyTo !== null) {
    const quoted = messages.get(Number(replyTo));
    message.reply_to_message = quoted
      ? { ...quoted, reply_to_message: undefined }
      : { message_id: Number(replyTo), date: now(), chat: privateChat(chatIdNumber), from: BOT, text: "…" };
  }
  messages.set(message.message_id, message);
  const update = { update_id: nextUpdateId++, message };
  queue.push(update);
  const waiters = waiting;
  waiting = [];
  for (const answer of waiters) answer();
  return { update_id: update.update_id, message_id: message.message_id };
}

function getUpdates(params, respond) {
  const offset = params.offset === undefined ? undefined : Number(params.offset);
  const limit = Math.min(Math.max(Number(params.limit ?? 100), 1), 100);
  const timeoutMs = Math.min(Math.max(Number(params.timeout ?? 0), 0) * 1000, LONG_POLL_CAP_MS);
  if (offset !== undefined && offset >= 0) {
    queue = queue.filter((u) => u.update_id >= offset);
  }
  // A newer poll replaces an older one, which answers at once with nothing.
  const superseded = waiting;
  waiting = [];
  for (const answer of superseded) answer();

  if (queue.length > 0 || timeoutMs === 0) {
    respond(queue.slice(0, limit));
    return;
  }
  let done = false;
  const answer = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    waiting = waiting.filter((other) => other !== answer);
    respond(queue.slice(0, limit));
  };
  const timer = setTimeout(answer, timeoutMs);
  waiting.push(answer);
}

function sendMessage(params) {
  const chatId = Number(params.chat_id);
  const replyTo = params.reply_parameters?.message_id ?? params.reply_to_message_id;
  const message = {
    message_id: nextMessageId++,
    date: now(),
    chat: privateChat(chatId),
    from: BOT,
    text: String(params.text ?? ""),
  };
  const quoted = replyTo === undefined ? undefined : messages.get(Number(replyTo));
  if (quoted) {
    message.reply_to_message = { ...quoted, reply_to_message: undefined };
  }
  messages.set(message.message_id, message);
  sent.push({ message_id: message.message_id, chat_id: chatId, text: message.text, reply_to: replyTo ?? null });
  return message;
}

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const ok = (res, result) => reply(res, 200, { ok: true, result });

/** The request's parameters: the query string, then a JSON or form body on top. */
function params(url, raw, contentType) {
  const found = Object.fromEntries(url.searchParams);
  if (raw.trim() === "") return found;
  if ((contentType ?? "").includes("application/x-www-form-urlencoded")) {
    return { ...found, ...Object.fromEntries(new URLSearchParams(raw)) };
  }
  const body = JSON.parse(raw);
  return { ...found, ...body };
}

const server = http.createServer((req, res) => {
  let raw = "";
  req.setEncoding("utf8");
  req.on("data", (chunk) => (raw += chunk));
  req.on("end", () => {
    const url = new URL(req.url ?? "/", "http://localhost");
    let p;
    try {
      p = params(url, raw, req.headers["content-type"]);
    } catch {
      reply(res, 400, { ok: false, error_code: 400, description: "Bad Request: can't parse JSON object of the request" });
      return;
    }

    if (url.pathname === "/control/health") return ok(res, true);
    if (url.pathname === "/control/push" && req.method === "POST") return ok(res, push(p));
    if (url.pathname === "/control/sent") {
      const chatId = url.searchParams.get("chat_id");
      return ok(res, chatId === null ? sent : sent.filter((m) => m.chat_id === Number(chatId)));
    }

    const bot = /^\/bot[^/]+\/([A-Za-z]+)$/.exec(url.pathname);
    if (!bot) {
      reply(res, 404, { ok: false, error_code: 404, description: "Not Found: method not found" });
      return;
    }
    switch (bot[1].toLowerCase()) {
      case "getme":
        return ok(res, {
          ...BOT,
          can_join_groups: false,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
          can_connect_to_business: false,
          has_main_web_app: false,
        });
      case "getupdates":
        return getUpdates(p, (updates) => ok(res, updates));
      case "sendmessage":
        return ok(res, sendMessage(p));
      default:
        return ok(res, true);
    }
  });
});

server.listen(port, "127.0.0.1", () => {
  console.log(`fake Telegram Bot API on http://127.0.0.1:${port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
