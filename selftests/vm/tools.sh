#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Print the directory holding checkpatch, the kselftest headers and the KUnit
# parser, extracted once from Debian's linux-source-6.12 into the cache.
set -euo pipefail
. "$(dirname "$0")/common.sh"
gs_need_packages linux-source-6.12 xz-utils
gs_kernel_source_tools
