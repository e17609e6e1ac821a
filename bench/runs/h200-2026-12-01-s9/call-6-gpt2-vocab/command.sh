set -u
R=$OUT/raw; mkdir -p $R
cd .work/bench-a; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
node bench.mjs $G --vocab 50257 --out $R/gpt2-vocab.json > $R/gpt2-vocab.txt 2>&1
python3 torch_batched.py --model-size gpt2-small --vocab 50257 --rs 8 --modes graph --out $R/peer-gpt2-vocab.json > $R/peer-gpt2-vocab.txt 2>&1
node bench.mjs $G --out $R/gpt2.json > $R/gpt2.txt 2>&1
python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1
cd $R
{ for f in gpt2-vocab gpt2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done; for f in peer-gpt2-vocab peer-gpt2; do echo "== $f"; grep -E "tokens/s|R=|Error" $f.txt | head -8; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
