set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in m; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
DR="--sweep-only --steps 120 --trials 3 --warmup 10 --rs 1,8 --driver --driver-steps 300"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
M="--clock-margin 0.95"
for t in 1 2; do
  (cd bench-m; node bench.mjs $S $D $M --trial-stamps --out $R/m95-$t.json > $R/m95-$t.txt 2>&1)
  (cd bench-m; node bench.mjs $S $D --trial-stamps --out $R/m85-$t.json > $R/m85-$t.txt 2>&1)
done
(cd bench-m; node bench.mjs $DR $D $M --out $R/driver-m95.json > $R/driver-m95.txt 2>&1)
(cd bench-m; node bench.mjs $G $M --out $R/gpt2-m95-1.json > $R/gpt2-m95-1.txt 2>&1)
(cd bench-m; node bench.mjs $G --out $R/gpt2-m85.json > $R/gpt2-m85.txt 2>&1)
(cd bench-m; node bench.mjs $G $M --out $R/gpt2-m95-2.json > $R/gpt2-m95-2.txt 2>&1)
(cd bench-m; node bench.mjs --skip-kernels --rs 8 $D $M --out $R/breakdown-m95.json > $R/breakdown-m95.txt 2>&1)
cd $R
{ for f in m95-1 m85-1 m95-2 m85-2 driver-m95 gpt2-m95-1 gpt2-m85 gpt2-m95-2; do echo "== $f"; grep -E "sweep R=|CLI's loop|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done
  echo "== breakdown-m95"; grep -E "@0.005|FAILED|Error|sweep R=|^\| (adamw|riemannian|sgd|loraplus)|→" breakdown-m95.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
