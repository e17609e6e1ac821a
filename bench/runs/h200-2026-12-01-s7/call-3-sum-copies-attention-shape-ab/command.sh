set -u
R=$OUT/raw; mkdir -p $R
cd .work
for d in bench-f bench-g; do gunzip -f $d/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt $d/model; ln -sfn ../../public/datasets $d/data; done
gunzip -f bench-g/torch_batched.py.gz
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-g && node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown-g.json > $R/breakdown-g.txt 2>&1)
(cd bench-g && python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown-g.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
for t in 1 2; do for d in f g; do
  (cd bench-$d && node bench.mjs $S $D --out $R/$d-$t.json > $R/$d-$t.txt 2>&1)
done; done
for d in f g; do (cd bench-$d && node bench.mjs $G --out $R/gpt2-$d.json > $R/gpt2-$d.txt 2>&1); done
(cd bench-g && python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
cd $R
{ for f in f-1 g-1 f-2 g-2 gpt2-f gpt2-g; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*dispatches/disp/'; done; for f in peer-lab peer-gpt2; do echo "== $f"; grep -E "tokens/s|max .diff|R=|Error" $f.txt | head -12; done; echo "== breakdown-g"; grep -E "@0.005|FAILED|Error|sweep R=8|riemannian-adamw  |between" breakdown-g.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
