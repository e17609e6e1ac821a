set -u
R=$OUT/raw; mkdir -p $R
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.max.sm,power.draw,temperature.gpu,clocks_throttle_reasons.active --format=csv -lms 500 > $R/smi.csv 2>&1 &
SMI=$!
node bench/experiments/fma-peak/probe.mjs --out $R > $R/fma.log 2>&1
cd .work
gunzip -f bench/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench/model; ln -sfn ../../public/datasets bench/data
cd bench
D="--data data/devils-dictionary.txt --model model/model.onnx"
node bench.mjs --skip-kernels --rs 8 $D --steps 10 --trials 2 --warmup 3 --out $R/check.json > $R/check.txt 2>&1
node bench.mjs --sweep-only --steps 30 --trials 5 --warmup 10 --rs 1,8,16,64 $D --out $R/sweep30.json > $R/sweep30.txt 2>&1
node bench.mjs --sweep-only --steps 120 --trials 3 --warmup 10 --rs 8 $D --out $R/sweep120.json > $R/sweep120.txt 2>&1
kill $SMI
cd $R
{ echo "== fma"; cat fma.log; echo "== check"; grep -A3 "First 8" check.txt; echo "== sweeps"; grep "sweep R=" sweep30.txt sweep120.txt; echo "== smi"; sort -u -t, -k2,2 smi.csv | head -20; } > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
