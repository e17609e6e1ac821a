set -u
R=$OUT
cd .work
gunzip -f bench/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench/model; ln -sfn ../../public/datasets bench/data
cd bench
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
mkdir -p $R/raw
node bench.mjs --skip-kernels --rs 8 $D --out $R/raw/breakdown.json > $R/breakdown.txt 2>&1
python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/raw/breakdown.json --out $R/raw/peer-lab.json > $R/raw/peer-lab.txt 2>&1
node bench.mjs $S --rs 1,8,16,64 $D --driver --driver-steps 300 --out $R/raw/ours-lab-1.json > $R/raw/ours-lab-1.txt 2>&1
node bench.mjs $S --rs 1,8,16,64 $D --out $R/raw/ours-lab-2.json > $R/raw/ours-lab-2.txt 2>&1
python3 torch_batched.py --rs 1,8,16,64 --modes graph --out $R/raw/peer-lab-30.json > $R/raw/peer-lab-30.txt 2>&1
node bench.mjs $G --out $R/raw/gpt2.json > $R/raw/gpt2.txt 2>&1
python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/raw/peer-gpt2.json > $R/raw/peer-gpt2.txt 2>&1
node bench.mjs $G --vocab 50257 --out $R/raw/vocab.json > $R/raw/vocab.txt 2>&1
python3 torch_batched.py --model-size gpt2-small --vocab 50257 --rs 8 --modes graph --out $R/raw/peer-vocab.json > $R/raw/peer-vocab.txt 2>&1
for f in $R/raw/*.txt; do echo "== $(basename $f)"; grep -E "sweep R=|CLI.s loop|FAILED|Error|tokens/s|tok/s|max .diff" $f | head -14; done > $R/summary.txt
tar czf $R/raw.tgz -C $R raw; rm -rf $R/raw
cat $R/summary.txt
