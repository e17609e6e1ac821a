set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in a t; do (cd bench-$x; gunzip -f *.gz 2>/dev/null; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-t; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1)
(cd bench-t; python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
n=0; for x in t a t; do n=$((n+1)); (cd bench-$x; node bench.mjs $S $D --out $R/$n-$x.json > $R/$n-$x.txt 2>&1); done
for x in t a; do (cd bench-$x; node bench.mjs $G --out $R/gpt2-$x.json > $R/gpt2-$x.txt 2>&1); done
(cd bench-t; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
(cd bench-t; node bench.mjs --sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8 $D --driver --driver-steps 300 --out $R/driver.json > $R/driver.txt 2>&1)
cd $R
{ for f in 1-t.txt 2-a.txt 3-t.txt gpt2-t.txt gpt2-a.txt driver.txt; do echo "== $f"; grep -E "sweep R=|driver|FAILED|Error" $f | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; for f in peer-lab peer-gpt2; do echo "== $f"; grep -E "tokens/s|max .diff|R=|Error" $f.txt | head -12; done; echo "== breakdown"; grep -E "@0.005|FAILED|Error|sweep R=8|riemannian-adamw  |between|Riemannian|Largest|Attention|Dispatches" breakdown.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
