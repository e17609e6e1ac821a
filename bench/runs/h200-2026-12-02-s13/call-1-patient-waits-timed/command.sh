set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in i; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
DR="--sweep-only --steps 120 --trials 3 --warmup 10 --rs 1,8 --driver --driver-steps 300"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
P="--waits patient"
(cd bench-i; node bench.mjs --skip-kernels --rs 8 $D $P --out $R/breakdown-p.json > $R/breakdown-p.txt 2>&1)
(cd bench-i; python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/breakdown-p.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
(cd bench-i; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1)
for t in 1 2; do
  (cd bench-i; node bench.mjs $S $D $P --trial-stamps --out $R/p-$t.json > $R/p-$t.txt 2>&1)
  (cd bench-i; node bench.mjs $S $D --out $R/poll-$t.json > $R/poll-$t.txt 2>&1)
done
(cd bench-i; node bench.mjs $DR $D $P --out $R/driver-p.json > $R/driver-p.txt 2>&1)
(cd bench-i; node bench.mjs $DR $D --out $R/driver-poll.json > $R/driver-poll.txt 2>&1)
(cd bench-i; node bench.mjs $G $P --out $R/gpt2-p-1.json > $R/gpt2-p-1.txt 2>&1)
(cd bench-i; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
(cd bench-i; node bench.mjs $G --out $R/gpt2-poll.json > $R/gpt2-poll.txt 2>&1)
(cd bench-i; node bench.mjs $G $P --out $R/gpt2-p-2.json > $R/gpt2-p-2.txt 2>&1)
cd $R
{ for f in p-1 poll-1 p-2 poll-2 driver-p driver-poll gpt2-p-1 gpt2-poll gpt2-p-2; do echo "== $f"; grep -E "sweep R=|CLI's loop|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; grep -h -A1 "sweep R=8 " $f.txt | grep host; done
  echo "== peer-lab"; grep -E "graph|diff|Error|@0.005" peer-lab.txt; echo "== peer-gpt2"; grep -E "graph|Error" peer-gpt2.txt
  for f in breakdown-p breakdown; do echo "== $f"; grep -E "@0.005|FAILED|Error|sweep R=|^\| (adamw|riemannian|sgd|loraplus)|between|→" $f.txt; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
