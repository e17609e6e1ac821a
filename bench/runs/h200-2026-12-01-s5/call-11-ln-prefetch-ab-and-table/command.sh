set -u
R=$OUT
cd .work
for d in bench-a bench-b; do gunzip -f $d/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt $d/model; ln -sfn ../../public/datasets $d/data; done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
mkdir -p $R/raw
(cd bench-b && node bench.mjs --skip-kernels --rs 8 $D --out $R/raw/breakdown-b.json > $R/breakdown-b.txt 2>&1)
(cd bench-b && python3 torch_batched.py --rs 1,8,16,64 --modes graph --steps 120 --trials 5 --check $R/raw/breakdown-b.json --out $R/raw/peer-lab.json > $R/raw/peer-lab.txt 2>&1)
for i in 1 2; do for d in bench-a bench-b; do
 (cd $d && node bench.mjs $S $D --out $R/raw/$d-lab-$i.json > $R/raw/$d-lab-$i.txt 2>&1)
done; done
for d in bench-a bench-b; do (cd $d && node bench.mjs $G --out $R/raw/$d-gpt2.json > $R/raw/$d-gpt2.txt 2>&1); done
(cd bench-b && python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/raw/peer-gpt2.json > $R/raw/peer-gpt2.txt 2>&1)
for f in $R/raw/*.txt; do echo "== $(basename $f)"; grep -E "sweep R=|FAILED|Error|tokens/s|max .diff" $f | sed -E 's/ +attention [a-z-]+//; s/opt .*dispatches/disp/' | head -8; done > $R/summary.txt
grep -A3 "First 8" $R/breakdown-b.txt >> $R/summary.txt
tar czf $R/raw.tgz -C $R raw; rm -rf $R/raw
cat $R/summary.txt
