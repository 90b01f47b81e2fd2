// The Node side of the benchmark suite: native Promise.
//
// Same cases as the C benchmark (bench/cases.c). A "deferred" is a new
// Promise whose resolve function is kept; callbacks are .then()/.catch(). Each iteration runs
// until its final promise has settled, microtasks included: the loop is an
// async function that awaits the final promise of every iteration before
// starting the next. Output: "R<TAB>key<TAB>value" lines (ns per operation)
// and "#" comments.

const args = process.argv.slice(2);
if (!(args.length === 0 || (args.length === 1 && args[0] === "--quick"))) {
  console.error("usage: node peer_node.mjs [--quick]");
  process.exit(1);
}
const quick = args.length === 1;
const SCALE = quick ? 20 : 1;
const REPS = quick ? 2 : 7;

function check(ok, what) {
  if (!ok) throw new Error(`wrong result in ${what}`);
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

const addOne = (x) => x + 1;
class BenchError extends Error {}
const raiseBenchError = () => { throw new BenchError(); };
const recover = (e) => {
  if (!(e instanceof BenchError)) throw e;
  return 100;
};
const returnFired = (x) => Promise.resolve(x + 1);
let sink = 0;

async function caseA(n) {
  for (let i = 0; i < n; i++) {
    const d = deferred();
    const p = d.promise.then(addOne);
    d.resolve(i);
    const v = await p;
    check(v === i + 1, "a");
    sink += v;
  }
}

async function caseB(n) {
  for (let i = 0; i < n; i++) {
    const d = deferred();
    let p = d.promise;
    for (let k = 0; k < 10; k++) p = p.then(addOne);
    d.resolve(i);
    const v = await p;
    check(v === i + 10, "b");
    sink += v;
  }
}

async function caseC(n) {
  for (let i = 0; i < n; i++) {
    const d = deferred();
    let p = d.promise;
    for (let k = 0; k < 4; k++) p = p.then(addOne);
    p = p.then(raiseBenchError).then(addOne).catch(recover);
    for (let k = 0; k < 3; k++) p = p.then(addOne);
    d.resolve(i);
    const v = await p;
    check(v === 103, "c");
    sink += v;
  }
}

async function caseD(n) {
  for (let i = 0; i < n; i++) {
    const d = deferred();
    let p = d.promise;
    for (let k = 0; k < 10; k++) p = p.then(returnFired);
    d.resolve(i);
    const v = await p;
    check(v === i + 10, "d");
    sink += v;
  }
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

async function caseE(n) {
  for (let i = 0; i < n; i++) {
    const ds = [];
    for (let k = 0; k < 100; k++) ds.push(deferred());
    const p = Promise.all(ds.map((d) => d.promise)).then(sum);
    for (let k = 0; k < 100; k++) ds[k].resolve(k);
    const v = await p;
    check(v === 4950, "e");
    sink += v;
  }
}

async function measure(name, fn, n) {
  await fn(Math.floor(n / 10) + 1);
  let best = Infinity;
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint();
    await fn(n);
    const t = Number(process.hrtime.bigint() - t0);
    if (t < best) best = t;
  }
  console.log(`R\t${name}.ns\t${(best / n).toPrecision(6)}`);
}

console.log(`# Node ${process.version}: native Promise; each iteration awaits ` +
            `its final promise (microtasks included), best of ${REPS} runs`);
await measure("a", caseA, 1000000 / SCALE);
await measure("b", caseB, 300000 / SCALE);
await measure("c", caseC, 200000 / SCALE);
await measure("d", caseD, 100000 / SCALE);
await measure("e", caseE, 20000 / SCALE);
if (sink === -1) console.log("#");
