set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in h; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
SH="64,128,4,64;8,128,4,64;64,256,12,64"
for o in 1 0; do (cd bench-h; node bench.mjs attention-passes-tiles --shapes "$SH" --attention-order $o --out $R/tiles-$o.json > $R/tiles-$o.txt 2>&1); done
(cd bench-h; node bench.mjs $G --out $R/gpt2-1.json > $R/gpt2-1.txt 2>&1)
(cd bench-h; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
(cd bench-h; node bench.mjs $G --out $R/gpt2-2.json > $R/gpt2-2.txt 2>&1)
cd $R
{ for o in 1 0; do echo "== tiles, order $o"; grep -vE "^\s*$" tiles-$o.txt | head -80; done
  for f in gpt2-1 gpt2-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done
  echo "== peer-gpt2"; grep -E "graph|Error" peer-gpt2.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
