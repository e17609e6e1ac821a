set -u
R=$OUT/raw; mkdir -p $R
cd .work/bench-f
gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
node bench.mjs attention-check --shape 64,128,4,64 --variant passes > $R/check.txt 2>&1
for t in 1 2; do for x in on off; do node bench.mjs $S $D --attention-paired $x --out $R/$x-$t.json > $R/$x-$t.txt 2>&1; done; done
for t in 1 2; do for x in on off; do node bench.mjs $G --attention-paired $x --out $R/gpt2-$x-$t.json > $R/gpt2-$x-$t.txt 2>&1; done; done
node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1
python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1
python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1
cd $R
{ grep -E "attention check|Error" check.txt; for f in on-1 off-1 on-2 off-2 gpt2-on-1 gpt2-off-1 gpt2-on-2 gpt2-off-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; for f in peer-lab peer-gpt2; do echo "== $f"; grep -E "tokens/s|max .diff|R=|Error" $f.txt | head -12; done; echo "== breakdown"; grep -E "@0.005|FAILED|Error|sweep R=8|riemannian-adamw  |between|Riemannian|Largest|Attention|Dispatches|attention" breakdown.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
