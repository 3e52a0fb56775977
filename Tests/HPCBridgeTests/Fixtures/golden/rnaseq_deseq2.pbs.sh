#!/bin/bash
#PBS -N rnaseq_deseq2.treated_2
#PBS -A systems_biology_lab
#PBS -q debug
#PBS -l select=1:ncpus=1:mem=2048mb
#PBS -l walltime=00:10:00
#PBS -o /var/lib/hpcbridge/runs/systems_biology_lab/0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10/stdout.log
#PBS -e /var/lib/hpcbridge/runs/systems_biology_lab/0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10/stderr.log
#PBS -v HPCBRIDGE_JOB_ID=0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10

set -euo pipefail
umask 0027

# hpcbridge job environment. Every value below was placed by the renderer as one single-quoted word.
HB_JOB_ID='0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10'
HB_JOB_NAME='rnaseq_deseq2.treated_2'
HB_PIPELINE='rnaseq_deseq2'
HB_PIPELINE_VERSION='1.0.0'
HB_GROUP='systems_biology_lab'
HB_DESCRIPTION='Demo sample treated_2 (paired-end) on the tiny demo transcriptome (hpcbridge demo-data)'
HB_RUN_DIR='/var/lib/hpcbridge/runs/systems_biology_lab/0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10'
HB_EXIT_CODE_FILE='/var/lib/hpcbridge/runs/systems_biology_lab/0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10/hpcbridge.exit_code'
HB_MANIFEST_FILE='/var/lib/hpcbridge/runs/systems_biology_lab/0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10/hpcbridge.manifest.json'
HB_CPUS='1'
HB_MEMORY_MB='2048'
HB_OUTPUTS=('sample_table' 'samples.tsv' 'quantification' 'quant/treated_2/quant.sf' )
HB_STARTED_AT="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
export HB_JOB_ID HB_RUN_DIR HB_CPUS HB_MEMORY_MB

# On every exit (success, failure, TERM from the scheduler) leave the manifest, then the exit-code
# file: the exit-code file is written last, so its presence means the manifest is complete.
hb_finish() {
  local rc=$?
  set +e
  trap - EXIT TERM INT HUP
  local finished outputs="" sep="" i name path exists size
  finished="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for ((i = 0; i < ${#HB_OUTPUTS[@]}; i += 2)); do
    name="${HB_OUTPUTS[i]}"
    path="${HB_OUTPUTS[i + 1]}"
    if [ -e "$HB_RUN_DIR/$path" ]; then
      exists=true
      size="$(stat -c %s -- "$HB_RUN_DIR/$path" 2>/dev/null || echo 0)"
    else
      exists=false
      size=0
    fi
    outputs+="${sep}{\"name\":\"${name}\",\"path\":\"${path}\",\"exists\":${exists},\"size_bytes\":${size}}"
    sep=","
  done
  printf '{"job_id":"%s","pipeline":"%s","pipeline_version":"%s","group":"%s","scheduler_job_id":"%s","host":"%s","exit_code":%d,"started_at":"%s","finished_at":"%s","outputs":[%s]}\n' \
    "$HB_JOB_ID" "$HB_PIPELINE" "$HB_PIPELINE_VERSION" "$HB_GROUP" "${SLURM_JOB_ID:-${PBS_JOBID:-}}" \
    "$(hostname 2>/dev/null || echo unknown)" "$rc" "$HB_STARTED_AT" "$finished" "$outputs" \
    > "$HB_MANIFEST_FILE.tmp" && mv -f -- "$HB_MANIFEST_FILE.tmp" "$HB_MANIFEST_FILE"
  printf '%d\n' "$rc" > "$HB_EXIT_CODE_FILE.tmp" && mv -f -- "$HB_EXIT_CODE_FILE.tmp" "$HB_EXIT_CODE_FILE"
  exit "$rc"
}
trap hb_finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

hb_fail() {
  echo "hpcbridge: $*" >&2
  exit 1
}

# Fails early, with a message naming the host, when a tool the pipeline needs is missing.
hb_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || hb_fail "$tool is not installed on $(hostname); ask your cluster admins or load its module"
  done
}

# Prints a local path for an input: absolute paths as they are, s3:// URIs copied into inputs/.
hb_stage_input() {
  local source="$1" target
  case "$source" in
    s3://*)
      hb_require aws
      mkdir -p inputs
      target="$(mktemp -d inputs/s3.XXXXXX)/$(basename -- "$source")"
      aws s3 cp --only-show-errors "$source" "$target" >&2
      printf '%s\n' "$target"
      ;;
    *)
      [ -r "$source" ] || hb_fail "input $source does not exist or is not readable from $(hostname)"
      printf '%s\n' "$source"
      ;;
  esac
}

mkdir -p -- "$HB_RUN_DIR"
cd -- "$HB_RUN_DIR"
echo "hpcbridge: job $HB_JOB_ID ($HB_PIPELINE $HB_PIPELINE_VERSION) started on $(hostname) at $HB_STARTED_AT" >&2

# RNA-seq: adapter and quality trimming with fastp, transcript quantification with salmon, one sample at
# a time; with a design (conditions of at least two samples each), differential expression with DESeq2.

study_id='treated_2'
min_quality='20'
library_type='A'
quantification_method='salmon'
adapter_sequence=""
adapter_sequence='AGATCGGAAGAGCACACGTCTGAACTCCAGTCA'
salmon_index='/srv/references/demo_transcriptome/salmon_index'
tx2gene=""
tx2gene='/srv/references/demo_transcriptome/tx2gene.tsv'

hb_require fastp salmon
[ "$quantification_method" = salmon ] || hb_fail "unknown quantification method $quantification_method"
[ -d "$salmon_index" ] || hb_fail "salmon index $salmon_index does not exist; ask the core facility to build it"

mkdir -p trimmed quant
printf 'sample_id\tcondition\tquant_file\n' > samples.tsv

# quantify SAMPLE CONDITION FASTQ [FASTQ]: fastp then salmon quant, one line in samples.tsv.
quantify() {
  local sample="$1" condition="$2"
  shift 2
  [ ! -e "quant/$sample" ] || hb_fail "sample $sample is listed twice; sample ids must be unique"
  local inputs=() file
  for file in "$@"; do inputs+=("$(hb_stage_input "$file")"); done
  local adapter_args=()
  if [ -n "$adapter_sequence" ]; then adapter_args=(--adapter_sequence "$adapter_sequence"); fi
  echo "hpcbridge: trimming and quantifying $sample (${#inputs[@]} FASTQ files)" >&2
  if [ "${#inputs[@]}" -eq 2 ]; then
    fastp -i "${inputs[0]}" -I "${inputs[1]}" -o "trimmed/${sample}_R1.fastq.gz" -O "trimmed/${sample}_R2.fastq.gz" \
      -q "$min_quality" -w "$HB_CPUS" "${adapter_args[@]}" \
      -j "trimmed/${sample}.fastp.json" -h "trimmed/${sample}.fastp.html"
    salmon quant -i "$salmon_index" -l "$library_type" -p "$HB_CPUS" --validateMappings \
      -1 "trimmed/${sample}_R1.fastq.gz" -2 "trimmed/${sample}_R2.fastq.gz" -o "quant/$sample"
  else
    fastp -i "${inputs[0]}" -o "trimmed/${sample}.fastq.gz" -q "$min_quality" -w "$HB_CPUS" "${adapter_args[@]}" \
      -j "trimmed/${sample}.fastp.json" -h "trimmed/${sample}.fastp.html"
    salmon quant -i "$salmon_index" -l "$library_type" -p "$HB_CPUS" --validateMappings \
      -r "trimmed/${sample}.fastq.gz" -o "quant/$sample"
  fi
  printf '%s\t%s\t%s\n' "$sample" "$condition" "quant/$sample/quant.sf" >> samples.tsv
}

single_sample_fastqs=('/data/systems_biology_lab/demo/rnaseq/treated_2_R1.fastq' '/data/systems_biology_lab/demo/rnaseq/treated_2_R2.fastq' )
if [ "${#single_sample_fastqs[@]}" -gt 0 ]; then
  quantify "$study_id" "" "${single_sample_fastqs[@]}"
fi

run_deseq2=false

if [ "$run_deseq2" = true ]; then
hb_require Rscript
mkdir -p deseq2
cat > deseq2/deseq2.R <<'RSCRIPT'
# Differential expression with DESeq2 from salmon quantifications.
# Arguments: samples.tsv, output directory, optional transcript-to-gene table.
suppressPackageStartupMessages(library(DESeq2))
args <- commandArgs(trailingOnly = TRUE)
samples <- read.delim(args[1], stringsAsFactors = FALSE)
out_dir <- args[2]
tx2gene_file <- if (length(args) >= 3 && nzchar(args[3])) args[3] else NA

read_counts <- function(file) {
  quant <- read.delim(file, stringsAsFactors = FALSE)
  setNames(quant$NumReads, quant$Name)
}
counts <- sapply(samples$quant_file, read_counts)
colnames(counts) <- samples$sample_id
if (!is.na(tx2gene_file)) {
  tx2gene <- read.delim(tx2gene_file, header = FALSE, stringsAsFactors = FALSE)
  gene <- tx2gene[[2]][match(rownames(counts), tx2gene[[1]])]
  gene[is.na(gene)] <- rownames(counts)[is.na(gene)]
  counts <- rowsum(counts, gene)
}
counts <- round(counts)
storage.mode(counts) <- "integer"
counts <- counts[rowSums(counts) > 0, , drop = FALSE]

# The first condition of the design is the reference level.
levels <- unique(samples$condition)
coldata <- data.frame(condition = factor(samples$condition, levels = levels), row.names = samples$sample_id)
dds <- DESeqDataSetFromMatrix(countData = counts, colData = coldata, design = ~ condition)
dds <- tryCatch(DESeq(dds, quiet = TRUE), error = function(e) {
  # Few features or near-identical samples: use gene-wise dispersion estimates, as the DESeq2 manual advises.
  message("hpcbridge: DESeq2 fell back to gene-wise dispersions: ", conditionMessage(e))
  dds <- estimateSizeFactors(dds)
  dds <- estimateDispersionsGeneEst(dds)
  dispersions(dds) <- mcols(dds)$dispGeneEst
  nbinomWaldTest(dds)
})
all_results <- do.call(rbind, lapply(levels[-1], function(level) {
  res <- as.data.frame(results(dds, contrast = c("condition", level, levels[1])))
  data.frame(feature = rownames(res), contrast = paste0(level, "_vs_", levels[1]), res, row.names = NULL)
}))
write.table(all_results, file.path(out_dir, "results.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
normalized <- counts(dds, normalized = TRUE)
write.table(data.frame(feature = rownames(normalized), normalized, check.names = FALSE),
            file.path(out_dir, "normalized_counts.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
RSCRIPT
echo "hpcbridge: differential expression with DESeq2" >&2
Rscript --vanilla deseq2/deseq2.R samples.tsv deseq2 "$tx2gene"
fi
echo "hpcbridge: $study_id done" >&2
