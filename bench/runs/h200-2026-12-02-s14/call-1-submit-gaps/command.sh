set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in d; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-d; node bench.mjs $S $D --submit-diag --trial-stamps --out $R/diag.json > $R/diag.txt 2>&1)
(cd bench-d; node bench.mjs $G --submit-diag --trial-stamps --out $R/gpt2-diag.json > $R/gpt2-diag.txt 2>&1)
cd $R
{ for f in diag gpt2-diag; do echo "== $f"; grep -E "sweep R=|resubmitted|GPU span / |trial [0-9] |FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
