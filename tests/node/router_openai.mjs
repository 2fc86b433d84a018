// `agentsched router` (in front of `agentsched engine` backends) as seen by the official
// openai npm client. Usage: node router_openai.mjs http://127.0.0.1:PORT
// Exits 0 when every check passes; prints one line per check and a closing tally.
import OpenAI from 'openai';

const base = process.argv[2];
if (!base) {
  console.error('usage: node router_openai.mjs ROUTER_URL');
  process.exit(2);
}
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });

let passed = 0;
let failed = 0;
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}
async function test(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
async function programs() {
  return (await fetch(`${base}/programs`)).json();
}
function program(list, id) {
  return list.programs.find((p) => p.id === id);
}

const models = await client.models.list();
const model = models.data[0]?.id;
const messages = [{ role: 'user', content: 'Plan the refund for order #W2378156, step by step.' }];

await test('models.list through the router', async () => {
  check(typeof model === 'string' && model.length > 0, 'model id');
});

await test('non-streaming call of a program (job_id) with usage', async () => {
  const { data, response } = await client.chat.completions
    .create({ model, messages, max_tokens: 6, ignore_eos: true, job_id: 'node:a' })
    .withResponse();
  check(data.object === 'chat.completion', 'object');
  check(data.usage.completion_tokens === 6, `completion_tokens ${data.usage.completion_tokens}`);
  check(response.headers.get('x-agentsched-backend') !== null, 'backend header');
  const p = program(await programs(), 'node:a');
  check(p && p.steps === 1, 'program tracked with one step');
  check(p.context_tokens === data.usage.total_tokens, `context ${p.context_tokens}`);
});

await test('streaming without include_usage: no usage chunk, program still counted', async () => {
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 9, ignore_eos: true, stream: true, job_id: 'node:a',
  });
  let text = '';
  let sawUsage = false;
  let finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) sawUsage = true;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  check(!sawUsage, 'the client did not ask for usage');
  check(finish === 'length', `finish ${finish}`);
  check(text.length === 9 * 4, `text length ${text.length}`);
  const p = program(await programs(), 'node:a');
  check(p.steps === 2, `steps ${p.steps}`);
  check(p.profile.completion_tokens === 15, `completion tokens ${p.profile.completion_tokens}`);
});

await test('streaming with include_usage: the usage chunk arrives', async () => {
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 4, ignore_eos: true, stream: true,
    stream_options: { include_usage: true }, job_id: 'node:a',
  });
  let usage = null;
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
  check(usage && usage.completion_tokens === 4, 'usage chunk');
});

await test('session header identifies the program', async () => {
  await client.chat.completions.create(
    { model, messages, max_tokens: 2 },
    { headers: { 'x-session-id': 'node:session' } },
  );
  check(program(await programs(), 'node:session'), 'program from x-session-id');
});

await test('concurrent programs spread over the backends and stay put', async () => {
  const ids = Array.from({ length: 8 }, (_, i) => `node:par:${i}`);
  const seen = new Map();
  for (let round = 0; round < 3; round++) {
    await Promise.all(ids.map(async (id) => {
      const { response } = await client.chat.completions
        .create({ model, messages, max_tokens: 3, job_id: id, stream: round === 1 })
        .withResponse();
      const b = response.headers.get('x-agentsched-backend');
      if (!seen.has(id)) seen.set(id, b);
      check(seen.get(id) === b, `${id} moved from ${seen.get(id)} to ${b}`);
    }));
  }
  check(new Set(seen.values()).size === 2, 'both backends used');
  const backends = await (await fetch(`${base}/backends`)).json();
  check(backends.backends.every((b) => b.up && b.programs >= 4), 'programs on each backend');
});

await test('release ends a program', async () => {
  const r = await fetch(`${base}/programs/release`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job_id: 'node:a' }),
  });
  check((await r.json()).released === true, 'released');
  check(!program(await programs(), 'node:a'), 'gone from /programs');
});

await test('errors keep the OpenAI shape through the router', async () => {
  try {
    await client.chat.completions.create({ model: 'no-such-model', messages, job_id: 'node:err' });
    throw new Error('no error');
  } catch (e) {
    check(e instanceof OpenAI.NotFoundError, `error class ${e?.constructor?.name}`);
  }
  const p = program(await programs(), 'node:err');
  check(p && p.profile.errors === 1, 'failed call counted in the profile');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
