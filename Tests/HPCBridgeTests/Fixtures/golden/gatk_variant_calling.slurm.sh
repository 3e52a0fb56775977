#!/bin/bash
#SBATCH --job-name=gatk_variant_calling.NA_01
#SBATCH --account=cancer_genomics_lab
#SBATCH --partition=debug
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=1024M
#SBATCH --time=00:10:00
#SBATCH --chdir=/var/lib/hpcbridge/runs/cancer_genomics_lab/0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10
#SBATCH --output=/var/lib/hpcbridge/runs/cancer_genomics_lab/0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10/stdout.log
#SBATCH --error=/var/lib/hpcbridge/runs/cancer_genomics_lab/0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10/stderr.log
#SBATCH --comment=hpcbridge:0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10

set -euo pipefail
umask 0027

# hpcbridge job environment. Every value below was placed by the renderer as one single-quoted word.
HB_JOB_ID='0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10'
HB_JOB_NAME='gatk_variant_calling.NA_01'
HB_PIPELINE='gatk_variant_calling'
HB_PIPELINE_VERSION='1.0.0'
HB_GROUP='cancer_genomics_lab'
HB_DESCRIPTION='Germline variants of demo sample NA_01 on the tiny demo genome (hpcbridge demo-data)'
HB_RUN_DIR='/var/lib/hpcbridge/runs/cancer_genomics_lab/0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10'
HB_EXIT_CODE_FILE='/var/lib/hpcbridge/runs/cancer_genomics_lab/0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10/hpcbridge.exit_code'
HB_MANIFEST_FILE='/var/lib/hpcbridge/runs/cancer_genomics_lab/0b7c52a4-8f0e-4a43-9d57-3c1a2b9d6e10/hpcbridge.manifest.json'
HB_CPUS='1'
HB_MEMORY_MB='1024'
HB_OUTPUTS=('alignments' 'NA_01.sorted.bam' 'alignments_index' 'NA_01.sorted.bam.bai' 'variants' 'NA_01.vcf.gz' 'variants_index' 'NA_01.vcf.gz.tbi' )
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

# Germline short-variant calling: BWA-MEM alignment, coordinate sort and index with samtools, then
# GATK HaplotypeCaller (or bcftools mpileup/call), then hard filters on QUAL and depth.

sample_id='NA_01'
fastq_r1='/data/cancer_genomics_lab/demo/germline/NA_01_R1.fastq'
fastq_r2='/data/cancer_genomics_lab/demo/germline/NA_01_R2.fastq'
caller='bcftools'
quality_threshold='30'
depth_threshold='10'
min_base_quality='10'
stand_call_conf='30'
emit_ref_confidence='NONE'
intervals=""
reference_fasta='/srv/references/demo_genome/demo_genome.fa'
bwa_index="$reference_fasta"
bwa_index='/srv/references/demo_genome/bwa/demo_genome.fa'

hb_require bwa samtools
if [ "$caller" = HaplotypeCaller ]; then hb_require gatk; else hb_require bcftools; fi
if [ -n "$intervals" ]; then [ -r "$intervals" ] || hb_fail "intervals file $intervals is not readable"; fi

r1="$(hb_stage_input "$fastq_r1")"
r2="$(hb_stage_input "$fastq_r2")"

echo "hpcbridge: aligning $sample_id with bwa mem ($HB_CPUS threads)" >&2
read_group="@RG\tID:${sample_id}\tSM:${sample_id}\tLB:${sample_id}\tPL:ILLUMINA"
bwa mem -t "$HB_CPUS" -R "$read_group" "$bwa_index" "$r1" "$r2" \
  | samtools sort -@ "$HB_CPUS" -o "${sample_id}.sorted.bam" -
samtools index "${sample_id}.sorted.bam"

raw_vcf="${sample_id}.raw.vcf.gz"
case "$caller" in
  HaplotypeCaller)
    echo "hpcbridge: calling variants with GATK HaplotypeCaller (-ERC $emit_ref_confidence)" >&2
    java_heap_mb=$(( HB_MEMORY_MB * 85 / 100 ))
    gatk --java-options "-Xmx${java_heap_mb}m" HaplotypeCaller \
      -R "$reference_fasta" -I "${sample_id}.sorted.bam" -O "$raw_vcf" \
      -ERC "$emit_ref_confidence" \
      --min-base-quality-score "$min_base_quality" \
      -stand-call-conf "$stand_call_conf" \
      ${intervals:+-L "$intervals"}
    if [ "$emit_ref_confidence" = NONE ]; then
      gatk VariantFiltration -R "$reference_fasta" -V "$raw_vcf" -O "${sample_id}.vcf.gz" \
        --filter-name LowQual --filter-expression "QUAL < ${quality_threshold}" \
        --filter-name LowDepth --filter-expression "DP < ${depth_threshold}"
    else
      # Reference-confidence output (GVCF) is filtered after joint genotyping, not per sample.
      mv -f -- "$raw_vcf" "${sample_id}.vcf.gz"
      mv -f -- "${raw_vcf}.tbi" "${sample_id}.vcf.gz.tbi"
    fi
    ;;
  bcftools)
    echo "hpcbridge: calling variants with bcftools mpileup/call" >&2
    bcftools mpileup --threads "$HB_CPUS" -f "$reference_fasta" -Q "$min_base_quality" -a FORMAT/AD,FORMAT/DP \
      ${intervals:+-R "$intervals"} -Ou "${sample_id}.sorted.bam" \
      | bcftools call --threads "$HB_CPUS" -mv -Oz -o "$raw_vcf"
    bcftools filter --threads "$HB_CPUS" -s LowQual -e "QUAL<${quality_threshold}" -Ou "$raw_vcf" \
      | bcftools filter -m + -s LowDepth -e "INFO/DP<${depth_threshold}" -Oz -o "${sample_id}.vcf.gz"
    bcftools index -t "${sample_id}.vcf.gz"
    ;;
  *)
    hb_fail "unknown caller $caller"
    ;;
esac

bcftools_stats="${sample_id}.vcf.stats.txt"
if command -v bcftools >/dev/null 2>&1; then bcftools stats "${sample_id}.vcf.gz" > "$bcftools_stats"; fi
echo "hpcbridge: $sample_id done: ${sample_id}.vcf.gz" >&2
