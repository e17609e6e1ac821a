set -u
R=$OUT/raw; mkdir -p $R
cd .work
gunzip -f bench-b/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench-b/model; ln -sfn ../../public/datasets bench-b/data
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 60 --trials 3 --warmup 10 --rs 1,8 --driver --driver-steps 300"
cd bench-b
for t in 1 2; do
  node bench.mjs $S $D --error-scopes submit --out $R/submit-$t.json > $R/submit-$t.txt 2>&1
  node bench.mjs $S $D --error-scopes window --out $R/window-$t.json > $R/window-$t.txt 2>&1
done
cd $R
for f in submit-1 window-1 submit-2 window-2; do echo "== $f"; grep -E "sweep R=|CLI.s loop|FAILED|Error" $f.txt | head -12; done | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
