// Conformance of `agentsched engine` as seen by the official openai npm client.
// Usage: node openai_conformance.mjs http://127.0.0.1:PORT/v1
// Exits 0 when every check passes; prints one line per check and a closing tally.
import OpenAI from 'openai';

const baseURL = process.argv[2];
if (!baseURL) {
  console.error('usage: node openai_conformance.mjs BASE_URL');
  process.exit(2);
}
const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });

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

const models = await client.models.list();
const model = models.data[0]?.id;

await test('models.list names the served model', async () => {
  check(typeof model === 'string' && model.length > 0, 'model id');
  check(models.data[0].object === 'model', 'object is model');
});

await test('non-streaming completion with usage', async () => {
  const r = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Say something. '.repeat(10) }],
    max_tokens: 16,
    ignore_eos: true,
  });
  check(r.object === 'chat.completion', 'object');
  check(r.choices.length === 1, 'one choice');
  check(r.choices[0].message.role === 'assistant', 'role');
  check(r.choices[0].finish_reason === 'length', 'finish_reason length with ignore_eos');
  check(r.usage.completion_tokens === 16, `completion_tokens ${r.usage.completion_tokens}`);
  check(r.usage.prompt_tokens === 38, `prompt_tokens ${r.usage.prompt_tokens} (150 bytes / 4)`);
  check(r.usage.total_tokens === r.usage.prompt_tokens + 16, 'total_tokens');
  check(r.choices[0].message.content.length === 16 * 4, 'four bytes of text per token');
});

await test('max_tokens caps a drawn output length', async () => {
  const r = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'hello' }],
    max_tokens: 3,
  });
  check(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 3, 'at most max_tokens');
});

await test('streaming with include_usage', async () => {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Stream to me.' }],
    max_tokens: 12,
    ignore_eos: true,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let chunks = 0;
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    chunks++;
    check(chunk.object === 'chat.completion.chunk', 'chunk object');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta?.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  check(chunks >= 3, `several chunks (${chunks})`);
  check(finish === 'length', `finish_reason ${finish}`);
  check(usage && usage.completion_tokens === 12, 'usage chunk');
  check(text.length === 48, `streamed text length ${text.length}`);
});

await test('a prompt extending the previous one hits the prefix cache', async () => {
  const first = [{ role: 'user', content: 'Long shared context. '.repeat(60) }];
  const a = await client.chat.completions.create({ model, messages: first, max_tokens: 4, job_id: 'node:prefix:1' });
  const b = await client.chat.completions.create({
    model,
    messages: [...first, a.choices[0].message, { role: 'user', content: 'And then?' }],
    max_tokens: 4,
    job_id: 'node:prefix:1',
  });
  const cached = b.usage.prompt_tokens_details?.cached_tokens ?? 0;
  check(cached >= 300, `cached_tokens ${cached}`);
});

await test('prompt over the context length is a 400 BadRequestError', async () => {
  try {
    await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'x'.repeat(4 * 50_000) }],
    });
    throw new Error('no error');
  } catch (e) {
    check(e instanceof OpenAI.BadRequestError, `error class ${e?.constructor?.name}`);
    check(e.status === 400, 'status 400');
    check(/maximum context length/.test(e.message), `message: ${e.message}`);
  }
});

await test('unknown model is a 404 NotFoundError', async () => {
  try {
    await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] });
    throw new Error('no error');
  } catch (e) {
    check(e instanceof OpenAI.NotFoundError, `error class ${e?.constructor?.name}`);
  }
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
