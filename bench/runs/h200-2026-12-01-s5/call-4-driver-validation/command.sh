set -u
R=$OUT/raw; mkdir -p $R
cd .work
gunzip -f bench/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench/model; ln -sfn ../../public/datasets bench/data
cd bench
D="--data data/devils-dictionary.txt --model model/model.onnx --sweep-only --steps 30 --trials 3 --warmup 10 --rs 1,8 --driver --driver-steps 300"
node bench.mjs $D --out $R/d-default.json > $R/d-default.txt 2>&1
node bench.mjs $D --driver-val-every 0 --out $R/d-noval.json > $R/d-noval.txt 2>&1
node bench.mjs $D --driver-val-every 0 --driver-norms-every 100000 --out $R/d-nonorms.json > $R/d-nonorms.txt 2>&1
cd $R
{ grep -A2 "sweep R=" d-*.txt; } > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
