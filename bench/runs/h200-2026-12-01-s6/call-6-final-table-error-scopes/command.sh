set -u
R=$OUT/raw; mkdir -p $R
cd .work
for d in bench-b; do gunzip -f $d/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt $d/model; ln -sfn ../../public/datasets $d/data; done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
cd bench-b
python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check ../breakdown-ref.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1
node bench.mjs $S $D --error-scopes submit --out $R/submit.json > $R/submit.txt 2>&1
node bench.mjs $S $D --error-scopes window --out $R/window.json > $R/window.txt 2>&1
node bench.mjs $S $D --error-scopes window --driver --driver-steps 300 --out $R/window-driver.json > $R/window-driver.txt 2>&1
node bench.mjs $S $D --error-scopes submit --driver --driver-steps 300 --out $R/submit-driver.json > $R/submit-driver.txt 2>&1
node bench.mjs $G --error-scopes window --out $R/gpt2.json > $R/gpt2.txt 2>&1
python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1
cd $R
for f in peer-lab submit window window-driver submit-driver gpt2 peer-gpt2; do echo "== $f"; grep -E "sweep R=|CLI.s loop|FAILED|Error|graph .*R=|max .diff" $f.txt | head -12; done | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
