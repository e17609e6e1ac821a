set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in d; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"
S="--sweep-only --steps 120 --trials 6 --warmup 10 --rs 8 --trial-stamps"
(cd bench-d; node --trace-gc bench.mjs $S $D --out $R/d-gc.json > $R/d-gc.txt 2>&1)
(cd bench-d; node --trace-gc --max-semi-space-size=64 bench.mjs $S $D --out $R/d-semi.json > $R/d-semi.txt 2>&1)
(cd bench-d; node --trace-gc bench.mjs $S $D --driver --driver-steps 300 --out $R/d-driver.json > $R/d-driver.txt 2>&1)
cd $R
{ for f in d-gc d-semi d-driver; do echo "== $f"; grep -E "sweep R=|trial [0-9]+|FAILED|Error|driver" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; echo "-- gc pauses over 1 ms:"; grep -E "Mark|Scavenge" $f.txt | awk '{for(i=1;i<=NF;i++) if ($i=="ms:") t=$(i-1); match($0, /MB, [0-9.]+/); p=substr($0, RSTART+4, RLENGTH-4); if (p+0 > 1.0) print}' | head -40; echo "-- gc count:"; grep -cE "Mark|Scavenge" $f.txt; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
