set -u
R=$OUT
cd .work
gunzip -f bench/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench/model; ln -sfn ../../public/datasets bench/data
cd bench
node bench.mjs attention-passes-tiles --shapes "64,128,4,64;8,128,4,64;64,256,12,64" --out $R/tiles.json > $R/tiles.txt 2>&1
