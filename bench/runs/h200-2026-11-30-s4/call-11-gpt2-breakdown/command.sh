set -u
R=$OUT
cd .work
gunzip -f bench/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench/model; ln -sfn ../../public/datasets bench/data
cd bench
node bench.mjs --skip-kernels --rs 8 --model-size gpt2-small --data data/devils-dictionary.txt --steps 5 --trials 2 --warmup 2 --out $R/gpt2-breakdown.json > $R/gpt2-breakdown.txt 2>&1
gzip -9 $R/gpt2-breakdown.json
