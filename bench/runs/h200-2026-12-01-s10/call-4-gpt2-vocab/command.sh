set -u
R=$OUT/raw; mkdir -p $R
cd .work
(cd bench-e; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data)
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt --vocab 50257"
(cd bench-e; node bench.mjs $G --out $R/gpt2-vocab-e.json > $R/gpt2-vocab-e.txt 2>&1)
(cd bench-e; python3 torch_batched.py --model-size gpt2-small --vocab 50257 --rs 8 --modes graph --out $R/peer-gpt2-vocab.json > $R/peer-gpt2-vocab.txt 2>&1)
cd $R
{ echo "== gpt2-vocab-e"; grep -E "sweep R=|FAILED|Error" gpt2-vocab-e.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; echo "== peer-gpt2-vocab"; grep -E "graph|Error" peer-gpt2-vocab.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
