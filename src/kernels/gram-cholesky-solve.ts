// One side of the Riemannian preconditioner in one dispatch: P_m = F_mᵀ-side Gram + δ_m I (as `gram`),
// then v ← P_m⁻¹ v for every vector of solve job m (as `choleskySolve`), one workgroup per matrix.
// Bit for bit the two dispatches it replaces; saves one dispatch per side (see the shader).
import gramPhase from '../../shaders/gram-phase.wgsl?raw';
import choleskyPhase from '../../shaders/cholesky-phase.wgsl?raw';
import source from '../../shaders/gram-cholesky-solve.wgsl?raw';
import { defineKernel, foldedGrid } from '../gpu/kernel';
import { CHOLESKY_MAX_R } from './cholesky';

export const gramCholeskySolve = defineKernel({
  label: 'gramCholeskySolve',
  source: `${gramPhase}\n${choleskyPhase}\n${source}`,
  // factors and rhs must be different buffers: WebGPU rejects one buffer bound read and read_write.
  bindings: {
    factors: 'read',
    gramJobs: 'read',
    damping: 'read',
    P: 'write',
    solveJobs: 'read',
    rhs: 'write',
    status: 'write',
  },
  params: { count: 'u32', r: 'u32' },
  workgroups: ({ count, r }) => {
    if (!(r >= 1 && r <= CHOLESKY_MAX_R)) throw new Error(`gramCholeskySolve: r=${r} outside 1..64`);
    return foldedGrid(count);
  },
});
