#!/bin/bash
# Store and export figures of a release binary at a given number of records
# (issue 17 point 3): `fill --finalize` of N records (the README's fill
# example, each with its own destination_place), `status` before export,
# `export` of them all, `status` twice after (the first open after an
# export reads the log the export wrote), the read syscalls of `status`,
# `du -sb` of the home, then a receipt for every bundle (`receipt`, the
# supervisor) and `ack` of each on the laptop, timed in total, and then
# FIELDKIT_BENCH_ROUNDS (default 4) more rounds of the same (fill, export,
# receipts, acks), printing the store's bytes after each: the files stay
# within 4x the bytes the store holds (compact.rs). Max RSS
# and wall time from /usr/bin/time -v (for the receipts and acks: the
# largest of any one run, and the total wall time).
#
#   CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
#     cargo build --release --locked
#   benches/scale.sh target/release/fieldkit 20000 [LABEL]
#
# Run from the repository (forms and keys are found there). Writes under
# ${FIELDKIT_BENCH_DIR:-/tmp}/fieldkit-scale-LABEL-N. Asserts nothing.
set -u
BIN=$(realpath "$1"); N=$2; LABEL=${3:-run}
W=${FIELDKIT_BENCH_DIR:-/tmp}/fieldkit-scale-$LABEL-$N
rm -rf "$W"; mkdir -p "$W/usb"
export FIELDKIT_NOW=2026-11-22T09:00:00+07:00 XDG_DATA_HOME=/nonexistent
echo "correct horse battery" > "$W/pass"
FK=("$BIN" --home "$W/home" --passphrase-file "$W/pass")
timed() {
    local name=$1; shift
    /usr/bin/time -v "$@" 2> "$W/$name.time" > "$W/$name.out"
    local wall rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$W/$name.time")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/$name.time")
    printf '%s %s %-14s wall %s  max RSS %s kB\n' "$LABEL" "$N" "$name" "$wall" "$rss"
}
"${FK[@]}" init --enumerator enum-03 --name Bench > "$W/signers.line" 2> /dev/null || { echo "init failed"; exit 1; }
cat keys/allowed_signers "$W/signers.line" > "$W/allowed_signers"
EXAMPLE=$(sed -n '/cat > flow-record.json/{n;p}' README.md)
python3 - "$EXAMPLE" "$N" > "$W/answers.jsonl" <<'PY'
import json, sys
example = json.loads(sys.argv[1])
for i in range(int(sys.argv[2])):
    example["destination_place"] = "place %d" % i
    print(json.dumps(example))
PY
answers=$(wc -c < "$W/answers.jsonl")
echo "$LABEL $N answers: $answers bytes of JSON lines ($((answers / N)) a record)"
timed fill "${FK[@]}" fill dtm_flow_monitoring --answers - --finalize < "$W/answers.jsonl"
home=$(du -sb "$W/home" | cut -f1)
echo "$LABEL $N du -sb home after fill: $home ($((home / N)) a record)"
timed status-filled "${FK[@]}" status --json
timed export "${FK[@]}" export --out "$W/usb"
timed status "${FK[@]}" status --json
timed status-again "${FK[@]}" status --json
echo "$LABEL $N status: $(cat "$W/status-again.out")"
strace -f -c -e trace=read,pread64 -o "$W/strace.txt" "${FK[@]}" status > /dev/null 2>&1 \
    && echo "$LABEL $N read syscalls of status: $(awk '/total/ {print $4}' "$W/strace.txt")"
home=$(du -sb "$W/home" | cut -f1)
echo "$LABEL $N du -sb home after export: $home ($((home / N)) a record)"
echo "$LABEL $N bundles: $(du -cb "$W"/usb/*.zip | tail -1 | cut -f1) bytes in $(ls "$W"/usb/*.zip | wc -l) file(s)"
# Receipts and acks, every bundle: total wall time, largest RSS of one run.
both() {
    local name=$1; shift
    local start end rss=0 r
    start=$(date +%s.%N)
    for b in "$W"/usb/*.zip; do
        "$@" "$b" || { echo "$name failed on $b"; return 1; }
        r=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/$name.time")
        [ "$r" -gt "$rss" ] && rss=$r
    done
    end=$(date +%s.%N)
    printf '%s %s %-14s wall %.2f s in total  max RSS %s kB\n' "$LABEL" "$N" "$name" \
        "$(echo "$end - $start" | bc)" "$rss"
}
receipt_of() {
    /usr/bin/time -v "$BIN" receipt "$1" --signers "$W/allowed_signers" \
        --key keys/demo/supervisor --out "$1.receipt.json" 2> "$W/receipt.time" > /dev/null
}
ack_of() {
    /usr/bin/time -v "${FK[@]}" ack "$1.receipt.json" 2> "$W/ack.time" > /dev/null
}
both receipt receipt_of
both ack ack_of
echo "$LABEL $N status after the acks: $("${FK[@]}" status --json)"
home=$(du -sb "$W/home" | cut -f1)
echo "$LABEL $N du -sb home after the acks: $home"
# More rounds: the store's files after each, and the entries they hold.
for round in $(seq 2 "${FIELDKIT_BENCH_ROUNDS:-4}"); do
    rm -rf "$W/usb"; mkdir -p "$W/usb"
    sed "s/\"place /\"round $round place /" "$W/answers.jsonl" \
        | "${FK[@]}" fill dtm_flow_monitoring --answers - --finalize > /dev/null
    filled=$(du -sb "$W/home/store" | cut -f1)
    "${FK[@]}" export --out "$W/usb" > /dev/null 2>&1
    for b in "$W"/usb/*.zip; do receipt_of "$b" && ack_of "$b"; done
    # The next opening with the passphrase compacts when it is due.
    "${FK[@]}" export --out "$W/usb" > /dev/null 2>&1
    echo "$LABEL $N round $round: store after fill $filled, after the acks and the next opening $(du -sb "$W/home/store" | cut -f1) bytes; $("${FK[@]}" status --json)"
done
