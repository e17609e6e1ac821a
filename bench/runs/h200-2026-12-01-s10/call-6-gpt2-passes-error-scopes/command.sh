set -u
R=$OUT/raw; mkdir -p $R
cd .work
(cd bench-e; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data)
D="--data data/devils-dictionary.txt --model model/model.onnx"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
for t in 1 2; do for a in auto passes; do (cd bench-e; node bench.mjs $G --attention $a --out $R/gpt2-$a-$t.json > $R/gpt2-$a-$t.txt 2>&1); done; done
for t in 1 2; do for w in submit window; do (cd bench-e; node bench.mjs --sweep-only --steps 120 --trials 5 --warmup 10 --rs 8 $D --error-scopes $w --out $R/r8-$w-$t.json > $R/r8-$w-$t.txt 2>&1); done; done
cd $R
{ for f in gpt2-auto-1 gpt2-passes-1 gpt2-auto-2 gpt2-passes-2 r8-submit-1 r8-window-1 r8-submit-2 r8-window-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/opt .*gram\+chol [0-9.]*%//'; grep -h -A1 "sweep R=8 " $f.txt | grep host; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
