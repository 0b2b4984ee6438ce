// A third party's first session with Gloss, through a client generated from openapi/openapi.json
// (openapi-typescript + openapi-fetch). No casts and no `any`: if the document says something the
// server does not do, this fails to compile or to run. Usage: node build/scenario.js <base URL>
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Post = components["schemas"]["Post"];

const base = process.argv[2] ?? process.env.GLOSS_URL ?? "http://127.0.0.1:8080";
const client = createClient<paths>({ baseUrl: base });
const run = Date.now().toString(36);

function check(condition: boolean, what: string): asserts condition {
  if (!condition) {
    throw new Error(`scenario failed: ${what}`);
  }
}

/** The data of a successful answer, or a failure that says what the server answered. */
function ok<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.data === undefined) {
    throw new Error(`${what}: HTTP ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

/** An 8 × 6 red PNG. */
const PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAGCAIAAABxZ0isAAAAEUlEQVR4nGM4oaGBFTEMpAQAgPc0gUXKIv0AAAAASUVORK5CYII=";

function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

async function main(): Promise<void> {
  const password = "a long enough password";
  // register two members; log in as the first
  const alice = ok(
    await client.POST("/api/v1/auth/register", {
      body: { username: `alice_${run}`, password, email: null, display_name: "Alice" },
    }),
    "register alice",
  );
  check(alice.token_type === "Bearer", "token type");
  const bob = ok(
    await client.POST("/api/v1/auth/register", { body: { username: `bob_${run}`, password } }),
    "register bob",
  );
  const login = ok(
    await client.POST("/api/v1/auth/login", { body: { login: alice.user.username, password } }),
    "log in",
  );
  const aliceToken = login.access_token;

  // the forum tree: the first forum that takes threads
  const tree = ok(await client.GET("/api/v1/forums"), "forum tree");
  const forums = tree.items.flatMap((c) => [c, ...c.children]);
  const forum = forums.find((f) => f.kind === "forum");
  check(forum !== undefined, "a forum in the tree");

  // alice opens a thread whose first post holds a flag emoji
  const text = "Strategic note: 🇨🇳 and Moscow strengthen mutual support on multilateral forums.";
  const opened = ok(
    await client.POST("/api/v1/forums/{forum_id}/threads", {
      params: { path: { forum_id: forum.id } },
      headers: bearer(aliceToken),
      body: { title: `Generated clients ${run}`, body: text },
    }),
    "open a thread",
  );
  const first: Post = opened.first_post;
  const threadId = opened.thread.id;

  // the thread page, as bob
  const page = ok(
    await client.GET("/api/v1/threads/{thread_id}/view", {
      params: { path: { thread_id: threadId }, query: { page: 1 } },
      headers: bearer(bob.access_token),
    }),
    "thread page",
  );
  check(page.posts.items.length === 1 && page.posts.items[0]?.id === first.id, "the page holds the first post");

  // bob watches the thread and replies citing a passage of alice's post, idempotently
  const watched = await client.PUT("/api/v1/threads/{id}/watch", {
    params: { path: { id: threadId } },
    headers: bearer(bob.access_token),
  });
  check(watched.response.status === 204, "watch");
  const reply = ok(
    await client.POST("/api/v1/threads/{thread_id}/posts", {
      params: { path: { thread_id: threadId }, header: { "Idempotency-Key": `reply-${run}` } },
      headers: bearer(bob.access_token),
      body: {
        body: "That is the heart of it.",
        citations: [{ post_id: first.id, selector: { exact: "mutual support" } }],
      },
    }),
    "reply citing a passage",
  );
  check(reply.body_html?.includes("mutual support") === true, "the reply quotes the passage");

  // bob annotates a passage that starts with the flag, by UTF-16 offsets (JavaScript's own)
  const bodyText = first.body_text ?? "";
  const passage = "🇨🇳 and Moscow";
  const start = bodyText.indexOf(passage);
  check(start >= 0, "the passage is in body_text");
  const end = start + passage.length;
  const annotation = ok(
    await client.POST("/api/v1/posts/{post_id}/annotations", {
      params: { path: { post_id: first.id } },
      headers: bearer(bob.access_token),
      body: {
        motivation: "commenting",
        body: "Which forums?",
        selector: { start_utf16: start, end_utf16: end },
      },
    }),
    "annotate",
  );
  const selector = annotation.target?.selector;
  check(selector !== undefined, "the annotation has a target");
  check(selector.exact === passage, `the quote is the passage: ${selector.exact}`);
  check(selector.start_utf16 === start && selector.end_utf16 === end, "UTF-16 offsets come back");
  check(bodyText.slice(selector.start_utf16 ?? 0, selector.end_utf16 ?? 0) === passage, "slicing by them");

  // anyone finds the post by a word of it; the snippet's UTF-16 offsets are JavaScript's indexes
  const found = ok(
    await client.GET("/api/v1/search", { params: { query: { q: "moscow", type: "post" } } }),
    "search",
  );
  const hit = found.items.find((h) => h.id === first.id);
  check(hit !== undefined, "search finds the post");
  const mark = hit.snippet.highlights[0];
  check(mark !== undefined, "the snippet marks the word");
  check(hit.snippet.text.slice(mark.start_utf16, mark.end_utf16) === "Moscow", "slicing the snippet by them");

  // bob reacts with the first reaction kind
  const kinds = ok(await client.GET("/api/v1/reaction-kinds"), "reaction kinds");
  const kind = kinds.items[0];
  check(kind !== undefined, "a reaction kind");
  const reacted = ok(
    await client.PUT("/api/v1/posts/{post_id}/reactions/{kind}", {
      params: { path: { post_id: first.id, kind: kind.key } },
      headers: bearer(bob.access_token),
    }),
    "react",
  );
  check(reacted.reactions.some((r) => r.kind === kind.key && r.count === 1), "the reaction counts");

  // alice reads her notifications: the citation (which stands for the reply too: one
  // notification per post), the annotation and the reaction
  const notes = ok(
    await client.GET("/api/v1/notifications", { headers: bearer(aliceToken) }),
    "notifications",
  );
  const told = new Set(notes.items.map((n) => n.kind));
  const expected: components["schemas"]["NotificationKind"][] = ["citation", "annotation", "reaction"];
  for (const k of expected) {
    check(told.has(k), `alice is told of the ${k}`);
  }
  check(notes.items.every((n) => n.actor?.username === bob.user.username), "bob did it all");

  // alice refreshes her token pair; the new access token works
  const refreshed = ok(
    await client.POST("/api/v1/auth/refresh", { body: { refresh_token: login.refresh_token } }),
    "refresh",
  );
  const me = ok(await client.GET("/api/v1/me", { headers: bearer(refreshed.access_token) }), "me");
  check(me.username === alice.user.username, "the refreshed token is alice's");

  // alice's live stream receives one event when bob replies again
  const stream = await client.GET("/api/v1/stream", {
    headers: bearer(refreshed.access_token),
    parseAs: "stream",
  });
  const body = stream.data;
  check(stream.response.ok && body !== undefined && body !== null, "the stream opens");
  ok(
    await client.POST("/api/v1/threads/{thread_id}/posts", {
      params: { path: { thread_id: threadId } },
      headers: bearer(bob.access_token),
      body: { body: "One more thing." },
    }),
    "second reply",
  );
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let event: { name: string; data: unknown } | undefined;
  const deadline = Date.now() + 10_000;
  while (event === undefined && Date.now() < deadline) {
    const chunk = await reader.read();
    if (chunk.done) {
      break;
    }
    buffered += decoder.decode(chunk.value, { stream: true });
    for (const frame of buffered.split("\n\n").slice(0, -1)) {
      const lines = frame.split("\n");
      const name = lines.find((l) => l.startsWith("event: "))?.slice(7);
      const data = lines.find((l) => l.startsWith("data: "))?.slice(6);
      if (name !== undefined && data !== undefined) {
        const parsed: unknown = JSON.parse(data);
        event = { name, data: parsed };
        break;
      }
    }
  }
  await reader.cancel();
  check(event !== undefined, "an event arrived on the stream");
  check(event.name === "notification" || event.name === "post", `event name ${event.name}`);
  const data = event.data;
  check(typeof data === "object" && data !== null && "thread_id" in data, "the event names its thread");
  check(data.thread_id === threadId, "the event is about the thread");

  // alice uploads a picture (multipart, as the document describes it) and shows it in a reply
  const picture = Uint8Array.from(atob(PNG_BASE64), (c) => c.charCodeAt(0));
  const asForm = (file: string, name: string): FormData => {
    const form = new FormData();
    form.append("file", new Blob([Uint8Array.from(atob(file), (c) => c.charCodeAt(0))], { type: "image/png" }), name);
    return form;
  };
  const uploaded = ok(
    await client.POST("/api/v1/attachments", {
      headers: bearer(refreshed.access_token),
      body: { file: PNG_BASE64 },
      bodySerializer: (b) => asForm(b.file, "dot.png"),
    }),
    "upload a picture",
  );
  check(uploaded.content_type === "image/png" && uploaded.size === picture.length, "the upload's type and size");
  const shown = ok(
    await client.POST("/api/v1/threads/{thread_id}/posts", {
      params: { path: { thread_id: threadId } },
      headers: bearer(refreshed.access_token),
      body: { body: `A red dot: ![The red dot](attachment:${uploaded.id})` },
    }),
    "a reply showing the picture",
  );
  check(shown.attachments[0]?.caption === "The red dot", "the post lists the picture with its caption");
  const thumbnail = await fetch(new URL(uploaded.thumbnail_url, base));
  check(thumbnail.status === 200 && thumbnail.headers.get("content-type") === "image/webp", "the thumbnail is WebP");
  // and makes it her avatar
  const withAvatar = ok(
    await client.PUT("/api/v1/me/avatar", {
      headers: bearer(refreshed.access_token),
      body: { file: PNG_BASE64 },
      bodySerializer: (b) => asForm(b.file, "me.png"),
    }),
    "upload an avatar",
  );
  check(withAvatar.avatars !== null && withAvatar.avatar_url === withAvatar.avatars.medium, "the avatar's sizes");
  console.log(`typescript scenario: ok (thread ${threadId}, event ${event.name})`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
