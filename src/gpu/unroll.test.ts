import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { unrollLoops } from './unroll';

describe('unrollLoops', () => {
  it('repeats a loop body with the counter a constant, each copy in braces', () => {
    const src = 'fn f() { for (var k = 0u; k < N; k++) { let a = x[k] + k; s += a; } }';
    expect(unrollLoops(src, { N: 3 })).toBe(
      'fn f() { { let a = x[0u] + 0u; s += a; }{ let a = x[1u] + 1u; s += a; }{ let a = x[2u] + 2u; s += a; } }',
    );
  });

  it('unrolls nested loops, leaves loops over other bounds and field accesses alone', () => {
    const src =
      'for (var a = 0u; a < TM; a++) { for (var c = 0u; c < TN; c++) { acc[a * 4u + c] = v.a; } }' +
      ' for (var j = 0u; j < T; j++) { y[j] = 0.0; }';
    expect(unrollLoops(src, { TM: 2, TN: 2 })).toBe(
      '{ { acc[0u * 4u + 0u] = v.a; }{ acc[0u * 4u + 1u] = v.a; } }{ { acc[1u * 4u + 0u] = v.a; }{ acc[1u * 4u + 1u] = v.a; } }' +
        ' for (var j = 0u; j < T; j++) { y[j] = 0.0; }',
    );
  });

  it('by fewer copies than the count: a loop of steps of `by`', () => {
    const src = 'for (var k = 0u; k < N; k++) { s += x[k]; }';
    expect(unrollLoops(src, { N: 4 }, 2)).toBe(
      'for (var k_ = 0u; k_ < N; k_ += 2u) {{ s += x[(k_ + 0u)]; }{ s += x[(k_ + 1u)]; }}',
    );
    expect(unrollLoops(src, { N: 4 }, 4)).toBe(unrollLoops(src, { N: 4 }));
    expect(() => unrollLoops(src, { N: 6 }, 4)).toThrow(/divide/);
  });

  it('a bound written as an expression, and zero iterations', () => {
    expect(unrollLoops('for (var e = 0u; e < M * M; e++) { z[e] = 0.0; }', { 'M * M': 2 })).toBe(
      '{ z[0u] = 0.0; }{ z[1u] = 0.0; }',
    );
    expect(unrollLoops('a; for (var e = 0u; e < M; e++) { z[e] = 0.0; } b;', { M: 0 })).toBe('a;  b;');
  });

  it('refuses a body that assigns the counter, breaks or continues', () => {
    for (const body of ['k += 1u;', 'k++;', 'if (x) { break; }', 'continue;'])
      expect(() => unrollLoops(`for (var k = 0u; k < N; k++) { ${body} }`, { N: 2 })).toThrow(/assigns/);
    expect(() => unrollLoops('for (var k = 0u; k < N; k++) { x[k] = 1.0; ', { N: 2 })).toThrow(/unbalanced/);
    // A comparison is not an assignment.
    expect(unrollLoops('for (var k = 0u; k < N; k++) { b = k == 1u || k <= 2u; }', { N: 1 })).toBe(
      '{ b = 0u == 1u || 0u <= 2u; }',
    );
  });

  it('leaves no loop over TILE_K in the matmul', () => {
    const mm = readFileSync('shaders/matmul-wide-vec4.wgsl', 'utf8');
    expect(mm).toContain('kk < TILE_K');
    expect(unrollLoops(mm, { TILE_K: 16 })).not.toContain('kk < TILE_K');
  });
});
