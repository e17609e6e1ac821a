// Loop unrolling for WGSL, which has no unroll attribute. On the H200 (Dawn → SPIR-V → the NVIDIA driver) a
// loop whose trip count is a pipeline-overridable constant stays a loop: its body's workgroup-memory reads
// are not scheduled ahead of the previous iteration's multiply-adds, and a register tile kept in an array and
// indexed by the loop counter may live in local memory. matmulWideVec4 ran 9–25 % faster with its k loop
// repeated by hand (bench/experiments/matmul-variants). A kernel opts in through `specialize` (kernel.ts).
// The attention passes' register-tile loops (TM, TN, KC) were tried too: no faster on the H200 (bench/RESULTS.md),
// and SwiftShader's compiler crashed the test worker on them, so they stay loops.

/**
 * `source` with every loop `for (var v = 0u; v < BOUND; v++) { … }` whose BOUND is a key of `bounds` replaced by
 * bounds[BOUND] copies of its body, each in its own braces (its `let`s and `var`s stay local) with v replaced
 * by the constant (`3u`). Nested loops are unrolled too. The body must not assign v, `break` or `continue`
 * (a copy has no loop to leave): such a loop throws. Other loops are left as they are.
 *
 * With `by` below the count (which it must divide), the loop stays, `by` copies per iteration, v replaced
 * by `(v_ + 3u)`: a shorter shader (matmulUnrollFor takes it for small products, where it made whole steps
 * faster).
 */
export function unrollLoops(source: string, bounds: Record<string, number>, by = Infinity): string {
  const head = /for \(var (\w+) = 0u; \1 < ([^;]+); \1\+\+\) \{/g;
  let out = '';
  let from = 0;
  for (let m = head.exec(source); m; m = head.exec(source)) {
    if (m.index < from) continue;
    const [text, v, bound] = m;
    const count = bounds[bound.trim()];
    if (count === undefined) continue;
    if (!Number.isInteger(count) || count < 0) throw new Error(`unrollLoops: ${bound} = ${count}`);
    const open = m.index + text.length;
    const close = matchingBrace(source, open);
    const body = source.slice(open, close);
    const uses = new RegExp(`(?<![.\\w])${v}(?!\\w)`, 'g');
    if (
      new RegExp(`(?<![.\\w])${v}\\s*(\\+\\+|--|[-+*/]?=(?!=))`).test(body) ||
      /\b(break|continue)\b/.test(body)
    )
      throw new Error(`unrollLoops: the loop over ${v} < ${bound} assigns ${v}, breaks or continues`);
    const inner = unrollLoops(body, bounds, by);
    let copies = '';
    if (by >= count) {
      for (let k = 0; k < count; k++) copies += `{${inner.replace(uses, `${k}u`)}}`;
    } else {
      if (!Number.isInteger(by) || by < 1 || count % by !== 0)
        throw new Error(`unrollLoops: ${by} copies per iteration do not divide ${bound} = ${count}`);
      for (let k = 0; k < by; k++) copies += `{${inner.replace(uses, `(${v}_ + ${k}u)`)}}`;
      copies = `for (var ${v}_ = 0u; ${v}_ < ${bound}; ${v}_ += ${by}u) {${copies}}`;
    }
    out += source.slice(from, m.index) + copies;
    from = close + 1;
    head.lastIndex = from;
  }
  return out + source.slice(from);
}

/** Index of the `}` that closes the block opened just before `start`. */
function matchingBrace(source: string, start: number): number {
  let depth = 1;
  for (let i = start; i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}' && --depth === 0) return i;
  }
  throw new Error('unrollLoops: unbalanced braces');
}
