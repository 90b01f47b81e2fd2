// The Node side of the benchmark suite: native Promise.
//
// Same cases as the C benchmark (bench/cases.c, bench/cases_compose.c). A
// "deferred" is a new Promise whose resolve function is kept; callbacks are
// .then()/.catch(). Each iteration runs until its final promise has settled,
// microtasks included: the loop is an async function that awaits the final
// promise of every iteration before starting the next.
//
// The composition cases where Node has the feature: (g) Promise.race, each
// member tagged with its index, then each loser's canceller called (a
// Promise has no cancellation of its own: the canceller counts and rejects
// its member with a CancelledError, as a Deferred's); (j) 10,000 setTimeout
// and (j2) 10,000 setTimeout then clearTimeout. Node's timers run on real
// time at 1 ms granularity, so j's delays are spread over 1-20 ms (Node
// keeps one list per distinct delay, 20 here, where the C test clock and
// Twisted's reactor keep one heap of 10,000 distinct times) and j is timed
// in the process's CPU time (process.cpuUsage), from the first setTimeout
// to the last callback, so that waiting for the clock is not counted. Node
// has no lock or semaphore (h, h2, i): not timed.
//
// Output: "R<TAB>key<TAB>value" lines (ns per operation) and "#" comments.

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

// --- the composition cases (bench/cases_compose.c) ---------------------------

const RACE_N = 100;
class CancelledError extends Error {}

// A member: a promise, its resolve function, and a canceller that counts
// the cancels and rejects the member.
function cancellable(counter) {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  const cancel = () => {
    counter.cancels++;
    reject(new CancelledError());
  };
  return { promise, resolve, cancel };
}

// Fires with [index, value] of the first member to settle, once every
// other member has been cancelled.
function race(members) {
  const tagged = members.map((m, i) => m.promise.then((v) => [i, v]));
  return Promise.race(tagged).then((won) => {
    for (let k = 0; k < members.length; k++) {
      if (k !== won[0]) members[k].cancel();
    }
    return won;
  });
}

async function caseG(n) {
  const counter = { cancels: 0 };
  for (let i = 0; i < n; i++) {
    const members = [];
    for (let k = 0; k < RACE_N; k++) members.push(cancellable(counter));
    const p = race(members);
    const winner = i % RACE_N;
    const before = counter.cancels;
    members[winner].resolve(i);
    const [index, value] = await p;
    check(index === winner && value === i && counter.cancels - before === RACE_N - 1,
          "g");
    sink += value;
  }
}

const TIMER_N = 10000;
// Call k's delay: the C benchmark's permutation, over 1-20 ms (Node runs
// a delay of 0 as 1 ms).
const timerDelays = Array.from({ length: TIMER_N },
                               (_, k) => 1 + Math.floor(((k * 7919) % TIMER_N) / 500));

// One round: 10,000 timers set, then every one run. Node orders timers by
// their real due time, the time each was set plus its delay (setting
// 10,000 takes milliseconds), so each callback checks that it runs no
// earlier than that (less the 1 ms of Node's timer granularity) rather
// than after every shorter delay.
function timersRound() {
  return new Promise((done) => {
    let ran = 0;
    const setAt = performance.now();
    const fired = (k) => {
      check(performance.now() >= setAt + timerDelays[k] - 1, "j: run when due");
      if (++ran === TIMER_N) done();
    };
    for (let k = 0; k < TIMER_N; k++) setTimeout(fired, timerDelays[k], k);
  });
}

// Case j's time is CPU time: see the top of this file.
function cpuNs() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

async function caseJ(n) {
  for (let i = 0; i < n; i++) await timersRound();
}

const neverRuns = () => check(false, "j2: a cleared timer ran");

async function caseJ2(n) {
  const timers = new Array(TIMER_N);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < TIMER_N; k++) timers[k] = setTimeout(neverRuns, timerDelays[k]);
    for (let k = 0; k < TIMER_N; k++) clearTimeout(timers[(k * 7919) % TIMER_N]);
    sink += TIMER_N;
  }
  // A turn of the loop before the next run, so that a cleared timer that
  // ran would be seen.
  await new Promise((r) => setTimeout(r, 25));
}

// The best of REPS runs of fn(n), after a warm-up: ns per iteration, or
// per operation when an iteration is `per` of them, by `clock` (wall time
// unless told).
async function measure(name, fn, n, per = 1, clock = () => Number(process.hrtime.bigint())) {
  await fn(Math.floor(n / 10) + 1);
  let best = Infinity;
  for (let r = 0; r < REPS; r++) {
    const t0 = clock();
    await fn(n);
    const t = clock() - t0;
    if (t < best) best = t;
  }
  console.log(`R\t${name}.ns\t${(best / n / per).toPrecision(6)}`);
}

console.log(`# Node ${process.version}: native Promise; each iteration awaits ` +
            `its final promise (microtasks included), best of ${REPS} runs`);
await measure("a", caseA, 1000000 / SCALE);
await measure("b", caseB, 300000 / SCALE);
await measure("c", caseC, 200000 / SCALE);
await measure("d", caseD, 100000 / SCALE);
await measure("e", caseE, 20000 / SCALE);
await measure("g", caseG, Math.max(1, Math.floor(400 / SCALE)));
await measure("j", caseJ, Math.max(1, Math.floor(10 / SCALE)), TIMER_N, cpuNs);
await measure("j2", caseJ2, Math.max(1, Math.floor(10 / SCALE)), TIMER_N);
if (sink === -1) console.log("#");
