// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * "Which GPU is this worker's", answered from the variables launchers set:
 * a local rank (torchrun, srun, Open MPI, MPICH) and a visible-devices list
 * (CUDA, HIP, ROCr), whose entries are indices or GPU UUIDs.  Getting this
 * wrong binds a worker to the far node and nobody notices, so every value
 * that could be read two ways is refused with a message naming the variable
 * rather than guessed at: an index under a CUDA device order that is not
 * PCI bus order, an ambiguous UUID prefix, a MIG instance, an AMD UUID.
 * The environment is always passed in, never read with getenv(), so that
 * `gpusched exec` can resolve a child's environment and tests can pass
 * tables.  Also here: the one parser and formatter of NVML's GPU UUID text.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* strchrnul(), and libgpusched.h needs cpu_set_t */
#endif
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "libgpusched.h"

#define ENV_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Hex digits of a UUID, and the fewest a prefix needs to be taken as one. */
#define UUID_DIGITS		32u
#define UUID_MIN_PREFIX_DIGITS	4u
#define UUID_PREFIX		"GPU-"
#define MIG_PREFIX		"MIG-"

/* Values are quoted in messages up to this many bytes, cut visibly. */
#define QUOTE_MAX		64u
#define QUOTE_SIZE		(QUOTE_MAX + sizeof("..."))

/* In the order the header promises: the first one set wins. */
static const char *const rank_variables[] = {
	"LOCAL_RANK",			/* torchrun */
	"SLURM_LOCALID",		/* srun */
	"OMPI_COMM_WORLD_LOCAL_RANK",	/* Open MPI */
	"MPI_LOCALRANKID",		/* MPICH, Intel MPI */
};

static const char *const visible_variables[] = {
	"CUDA_VISIBLE_DEVICES",
	"HIP_VISIBLE_DEVICES",
	"ROCR_VISIBLE_DEVICES",
};

#define CUDA_VISIBLE	"CUDA_VISIBLE_DEVICES"
#define CUDA_ORDER	"CUDA_DEVICE_ORDER"
#define CUDA_PCI_ORDER	"PCI_BUS_ID"

/* One entry of a visible-devices list: a piece of the environment string. */
struct visible_entry {
	const char *text;
	size_t len;
};

enum entry_kind {
	ENTRY_MALFORMED,
	ENTRY_INDEX,
	ENTRY_UUID,
	ENTRY_MIG,
};

static int fail(char *message, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes the failure into @message (when given) and returns @err. */
static int fail(char *message, int err, const char *fmt, ...)
{
	va_list ap;

	if (message) {
		va_start(ap, fmt);
		vsnprintf(message, GPUSCHED_MESSAGE_SIZE, fmt, ap);
		va_end(ap);
	}
	return err;
}

/*
 * Copies @len bytes of @text for quoting: control bytes become '?' so that
 * a message stays one line, and a long value is cut with "...".
 */
static const char *quote(const char *text, size_t len, char buf[QUOTE_SIZE])
{
	size_t i, n = len < QUOTE_MAX ? len : QUOTE_MAX;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (n < len) {
		memcpy(buf + n, "...", sizeof("..."));
		n += sizeof("...") - 1;
	}
	buf[n] = '\0';
	return buf;
}

/* Like getenv(), in @envp; the first of duplicate names wins, as in getenv(). */
static const char *env_value(char *const *envp, const char *name)
{
	size_t len = strlen(name);

	for (; envp && *envp; envp++) {
		if (!strncmp(*envp, name, len) && (*envp)[len] == '=')
			return *envp + len + 1;
	}
	return NULL;
}

/* The value of the first of @names set in @envp, and its name in @name. */
static const char *first_set(char *const *envp, const char *const *names, size_t nr_names,
			     const char **name)
{
	const char *value;
	size_t i;

	for (i = 0; i < nr_names; i++) {
		value = env_value(envp, names[i]);
		if (value) {
			*name = names[i];
			return value;
		}
	}
	*name = NULL;
	return NULL;
}

/* Whitespace by hand: isspace() depends on the locale. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A local rank: decimal digits only, 0..INT_MAX, so "-1" or " 1" are refused. */
static int parse_rank(const char *text, int *rank)
{
	long long value = 0;

	if (!*text)
		return -EINVAL;
	for (; *text; text++) {
		if (*text < '0' || *text > '9')
			return -EINVAL;
		value = value * 10 + (*text - '0');
		if (value > INT_MAX)
			return -EINVAL;
	}
	*rank = (int)value;
	return 0;
}

/*
 * An index entry, already known to be digits.  It saturates rather than
 * overflows: any index past UINT_MAX is past the end of every topology.
 */
static unsigned long long parse_index(const struct visible_entry *entry)
{
	unsigned long long value = 0;
	size_t i;

	for (i = 0; i < entry->len; i++) {
		value = value * 10 + (unsigned long long)(entry->text[i] - '0');
		if (value > UINT_MAX)
			return (unsigned long long)UINT_MAX + 1;
	}
	return value;
}

/*
 * The hex digits of a "GPU-" UUID or UUID prefix, as nibbles.  Digits are
 * taken in either case; a dash is taken only where NVML prints one (after
 * 8, 12, 16 and 20 digits), never twice in a row, and may be left out.
 */
static int uuid_nibbles(const char *text, size_t len, uint8_t nibbles[UUID_DIGITS],
			unsigned int *nr_nibbles)
{
	const size_t prefix_len = sizeof(UUID_PREFIX) - 1;
	bool after_dash = true;		/* the prefix ends with one */
	unsigned int n = 0;
	size_t i;

	if (len < prefix_len || memcmp(text, UUID_PREFIX, prefix_len))
		return -EINVAL;
	for (i = prefix_len; i < len; i++) {
		int digit = hex_digit(text[i]);

		if (digit >= 0) {
			if (n == UUID_DIGITS)
				return -EINVAL;
			nibbles[n++] = (uint8_t)digit;
			after_dash = false;
		} else if (text[i] == '-' && !after_dash &&
			   (n == 8 || n == 12 || n == 16 || n == 20)) {
			after_dash = true;
		} else {
			return -EINVAL;
		}
	}
	*nr_nibbles = n;
	return 0;
}

static uint8_t uuid_nibble(const uint8_t uuid[16], unsigned int i)
{
	return i % 2 ? uuid[i / 2] & 0xf : uuid[i / 2] >> 4;
}

static bool uuid_is_zero(const uint8_t uuid[16])
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		if (uuid[i])
			return false;
	}
	return true;
}

int gpusched_uuid_parse(const char *text, uint8_t uuid[16])
{
	uint8_t nibbles[UUID_DIGITS];
	unsigned int n, i;

	if (!text || uuid_nibbles(text, strlen(text), nibbles, &n) || n != UUID_DIGITS)
		return -EINVAL;
	for (i = 0; i < 16; i++)
		uuid[i] = (uint8_t)(nibbles[2 * i] << 4 | nibbles[2 * i + 1]);
	return 0;
}

void gpusched_uuid_format(const uint8_t uuid[16], char text[41])
{
	static const char digits[] = "0123456789abcdef";
	char *out = text;
	unsigned int i;

	/* All zero is "unknown" in struct gpusched_gpu, not a UUID to print. */
	if (uuid_is_zero(uuid)) {
		text[0] = '\0';
		return;
	}
	memcpy(out, UUID_PREFIX, sizeof(UUID_PREFIX) - 1);
	out += sizeof(UUID_PREFIX) - 1;
	for (i = 0; i < UUID_DIGITS; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			*out++ = '-';
		*out++ = digits[uuid_nibble(uuid, i)];
	}
	*out = '\0';
}

/* Entries of a list; a list of nothing but blanks is empty, as "" is. */
static unsigned int count_entries(const char *list)
{
	unsigned int n = 1;
	const char *p;

	for (p = list; is_blank(*p); p++)
		;
	if (!*p)
		return 0;
	for (; *p; p++) {
		if (*p == ',')
			n++;
	}
	return n;
}

/* Entry @position of @list (which has more), without its surrounding blanks. */
static void get_entry(const char *list, unsigned int position, struct visible_entry *entry)
{
	const char *start = list, *end;

	for (; position; position--)
		start = strchr(start, ',') + 1;
	end = strchrnul(start, ',');
	while (start < end && is_blank(*start))
		start++;
	while (end > start && is_blank(end[-1]))
		end--;
	entry->text = start;
	entry->len = (size_t)(end - start);
}

static bool has_prefix(const struct visible_entry *entry, const char *prefix)
{
	size_t len = strlen(prefix);

	return entry->len >= len && !memcmp(entry->text, prefix, len);
}

static enum entry_kind classify(const struct visible_entry *entry)
{
	uint8_t nibbles[UUID_DIGITS];
	unsigned int n;
	size_t i;

	if (has_prefix(entry, MIG_PREFIX))
		return entry->len > sizeof(MIG_PREFIX) - 1 ? ENTRY_MIG : ENTRY_MALFORMED;
	if (has_prefix(entry, UUID_PREFIX))
		return uuid_nibbles(entry->text, entry->len, nibbles, &n) || !n ?
			ENTRY_MALFORMED : ENTRY_UUID;
	if (!entry->len)
		return ENTRY_MALFORMED;
	for (i = 0; i < entry->len; i++) {
		if (entry->text[i] < '0' || entry->text[i] > '9')
			return ENTRY_MALFORMED;
	}
	return ENTRY_INDEX;
}

/* "0000:41:00.0": how lspci and sysfs name the GPU's PCI function. */
static void format_pci(const struct gpusched_gpu *gpu, char text[32])
{
	gpusched_format_pci_address(gpu, text);
}

/*
 * The one GPU whose UUID starts with @nibbles.  Returns how many match,
 * counting no further than two; a GPU without a UUID never matches.
 */
static unsigned int match_uuid(const uint8_t *nibbles, unsigned int nr_nibbles,
			       unsigned int nr_gpus, const struct gpusched_gpu *gpus,
			       unsigned int *gpu)
{
	unsigned int i, j, matches = 0;

	for (i = 0; i < nr_gpus && matches < 2; i++) {
		if (uuid_is_zero(gpus[i].uuid))
			continue;
		for (j = 0; j < nr_nibbles; j++) {
			if (uuid_nibble(gpus[i].uuid, j) != nibbles[j])
				break;
		}
		if (j == nr_nibbles) {
			if (!matches)
				*gpu = i;
			matches++;
		}
	}
	return matches;
}

/* What the caller knows of the worker while one list entry is resolved. */
struct resolution {
	char *const *envp;
	unsigned int nr_gpus;
	const struct gpusched_gpu *gpus;
	struct gpusched_gpu_choice *choice;
	char *message;
	const char *list;		/* the visible-devices value */
	unsigned int position;		/* of the entry used */
	char where[128];		/* "CUDA_VISIBLE_DEVICES[1]", for messages */
};

static int refuse_malformed(struct resolution *res, unsigned int position,
			    const struct visible_entry *entry)
{
	const char *variable = res->choice->visible_variable;
	bool cuda = !strcmp(variable, CUDA_VISIBLE);
	char shown[QUOTE_SIZE];

	return fail(res->message, -EINVAL,
		    "%s[%u]=\"%s\" is neither a GPU index nor a GPU UUID "
		    "(\"GPU-\" and hex digits)%s",
		    variable, position, quote(entry->text, entry->len, shown),
		    position < res->position && cuda ?
		    "; CUDA ignores it and every entry after it, so this worker would not "
		    "see the GPU its own entry names" : "");
}

/*
 * Resolves the entry at res->position of the visible list to a GPU index,
 * or explains why not.  Sets choice->gpu; the caller writes the rest.
 */
static int resolve_entry(struct resolution *res, const struct visible_entry *entry,
			 bool *by_uuid)
{
	const char *variable = res->choice->visible_variable;
	bool cuda = !strcmp(variable, CUDA_VISIBLE);
	char shown[QUOTE_SIZE], order_shown[QUOTE_SIZE];
	uint8_t nibbles[UUID_DIGITS];
	unsigned long long index;
	unsigned int n, matches;
	const char *order;

	quote(entry->text, entry->len, shown);
	switch (classify(entry)) {
	case ENTRY_MALFORMED:
		return refuse_malformed(res, res->position, entry);
	case ENTRY_MIG:
		return fail(res->message, -EINVAL,
			    "%s=\"%s\" is a MIG instance; a MIG instance names no PCI function "
			    "of its own, so gpusched cannot place near it: give its parent GPU "
			    "(index or GPU- UUID, as nvidia-smi -L shows it above the MIG devices)",
			    res->where, shown);
	case ENTRY_UUID:
		/*
		 * AMD's runtimes print "GPU-" and 16 hex digits that no PCI
		 * record of ours carries; only NVML's UUIDs reach the topology.
		 */
		if (!cuda)
			return fail(res->message, -EINVAL,
				    "%s=\"%s\" is a UUID; gpusched knows the UUIDs NVML reports, "
				    "not AMD's, so list the GPUs in %s by index instead",
				    res->where, shown, variable);
		uuid_nibbles(entry->text, entry->len, nibbles, &n);
		if (n < UUID_MIN_PREFIX_DIGITS)
			return fail(res->message, -EINVAL,
				    "%s=\"%s\" is too short a UUID prefix: give \"GPU-\" and at "
				    "least %u hex digits",
				    res->where, shown, UUID_MIN_PREFIX_DIGITS);
		matches = match_uuid(nibbles, n, res->nr_gpus, res->gpus, &res->choice->gpu);
		if (matches > 1)
			return fail(res->message, -EINVAL,
				    "%s=\"%s\" is a prefix of the UUIDs of several GPUs; "
				    "give more of the UUID", res->where, shown);
		if (!matches)
			return fail(res->message, -ENODEV,
				    "%s: no GPU of the gpusched topology has UUID %s%s; "
				    "is gpuschedd running with NVML available?",
				    res->where, shown, n < UUID_DIGITS ? "..." : "");
		*by_uuid = true;
		return 0;
	case ENTRY_INDEX:
		break;
	}

	/*
	 * The topology is in PCI bus order.  CUDA numbers GPUs that way only
	 * under CUDA_DEVICE_ORDER=PCI_BUS_ID; under its default, FASTEST_FIRST,
	 * index 1 may be another GPU, and guessing would bind to the wrong node.
	 */
	order = env_value(res->envp, CUDA_ORDER);
	if (cuda && order && strcmp(order, CUDA_PCI_ORDER))
		return fail(res->message, -EINVAL,
			    "%s=\"%s\" is an index, but CUDA_DEVICE_ORDER=\"%s\": gpusched numbers "
			    "GPUs in PCI bus order, and CUDA's other orders (its default is "
			    "FASTEST_FIRST) may number them differently; set "
			    "CUDA_DEVICE_ORDER=PCI_BUS_ID or list GPU UUIDs in %s",
			    res->where, shown, quote(order, strlen(order), order_shown), variable);
	index = parse_index(entry);
	if (index >= res->nr_gpus)
		return fail(res->message, -ERANGE,
			    "%s=\"%s\" but the gpusched topology has %u GPU%s%s",
			    res->where, shown, res->nr_gpus, res->nr_gpus == 1 ? "" : "s",
			    res->nr_gpus ? "" : "; is gpuschedd running?");
	res->choice->gpu = (unsigned int)index;
	*by_uuid = false;
	return 0;
}

/* The end of every explanation: "GPU 3 (0000:41:00.0)", with its UUID when matched by one. */
static void describe_gpu(const struct gpusched_gpu *gpu, unsigned int index, bool with_uuid,
			 char *text, size_t size)
{
	char pci[32], uuid[41];

	format_pci(gpu, pci);
	gpusched_uuid_format(gpu->uuid, uuid);
	snprintf(text, size, "GPU %u (%s%s%s)", index, pci, with_uuid ? ", " : "",
		 with_uuid ? uuid : "");
}

static int resolve_from_list(struct resolution *res)
{
	struct gpusched_gpu_choice *choice = res->choice;
	const char *variable = choice->visible_variable;
	char shown[QUOTE_SIZE], list_shown[QUOTE_SIZE], gpu_text[128];
	unsigned int nr_entries, i;
	struct visible_entry entry;
	bool by_uuid = false, assumed_order;
	int err;

	quote(res->list, strlen(res->list), list_shown);
	nr_entries = count_entries(res->list);
	if (!nr_entries)
		return fail(res->message, -ENODEV,
			    "%s=\"%s\" is empty: no GPU is visible to this worker, so there is "
			    "no GPU to place it near", variable, list_shown);

	if (choice->local_rank < 0) {
		if (nr_entries != 1)
			return fail(res->message, -ENOENT,
				    "no local rank is set (LOCAL_RANK, SLURM_LOCALID, "
				    "OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID) and %s=\"%s\" "
				    "lists %u GPUs, so which one is this worker's is not known; "
				    "give the GPU with --gpu", variable, list_shown, nr_entries);
		res->position = 0;
	} else if ((unsigned int)choice->local_rank >= nr_entries) {
		return fail(res->message, -ERANGE,
			    "%s=%d but %s=\"%s\" lists %u GPU%s, so the local rank is past "
			    "its end%s",
			    choice->rank_variable, choice->local_rank, variable, list_shown,
			    nr_entries, nr_entries == 1 ? "" : "s",
			    nr_entries == 1 ?
			    " (a launcher that gives each task only its own GPU leaves the "
			    "rank and the list disagreeing: give the GPU with --gpu, "
			    "the index gpusched topo shows)" : "");
	} else {
		res->position = (unsigned int)choice->local_rank;
	}
	snprintf(res->where, sizeof(res->where), "%s[%u]", variable, res->position);

	/* CUDA stops at a malformed entry, so the ones before ours must be sound. */
	for (i = 0; i < res->position; i++) {
		get_entry(res->list, i, &entry);
		if (classify(&entry) == ENTRY_MALFORMED)
			return refuse_malformed(res, i, &entry);
	}
	get_entry(res->list, res->position, &entry);
	err = resolve_entry(res, &entry, &by_uuid);
	if (err)
		return err;

	describe_gpu(&res->gpus[choice->gpu], choice->gpu, by_uuid, gpu_text, sizeof(gpu_text));
	quote(entry.text, entry.len, shown);
	assumed_order = !by_uuid && !strcmp(variable, CUDA_VISIBLE) &&
			!env_value(res->envp, CUDA_ORDER);
	if (choice->local_rank < 0) {
		choice->source = GPUSCHED_GPU_FROM_ONLY_VISIBLE;
		snprintf(choice->explanation, sizeof(choice->explanation),
			 "no local rank; %s=%s, its only GPU -> %s%s", variable, shown, gpu_text,
			 assumed_order ? "; CUDA_DEVICE_ORDER unset: index taken in PCI bus order, "
			 "as CUDA's FASTEST_FIRST is when all GPUs are alike" : "");
	} else {
		choice->source = by_uuid ? GPUSCHED_GPU_FROM_VISIBLE_UUID :
					   GPUSCHED_GPU_FROM_VISIBLE_INDEX;
		snprintf(choice->explanation, sizeof(choice->explanation),
			 "%s=%d -> %s=%s -> %s%s", choice->rank_variable, choice->local_rank,
			 res->where, shown, gpu_text,
			 assumed_order ? "; CUDA_DEVICE_ORDER unset: index taken in PCI bus order, "
			 "as CUDA's FASTEST_FIRST is when all GPUs are alike" : "");
	}
	return 0;
}

int gpusched_resolve_gpu(char *const *envp, unsigned int nr_gpus, const struct gpusched_gpu *gpus,
			 struct gpusched_gpu_choice *choice, char *message)
{
	struct resolution res = {
		.envp = envp,
		.nr_gpus = nr_gpus,
		.gpus = gpus,
		.choice = choice,
		.message = message,
	};
	const char *rank_text, *rank_variable, *visible_variable;
	char shown[QUOTE_SIZE], gpu_text[128];
	int rank, err;

	/* Only failures write the message, so success leaves it empty. */
	if (message)
		message[0] = '\0';
	if (!choice || (nr_gpus && !gpus))
		return fail(message, -EINVAL, "gpusched_resolve_gpu: %s is NULL",
			    choice ? "gpus" : "choice");
	memset(choice, 0, sizeof(*choice));
	choice->local_rank = -1;

	rank_text = first_set(envp, rank_variables, ENV_ARRAY_SIZE(rank_variables),
			      &rank_variable);
	if (rank_text) {
		if (parse_rank(rank_text, &rank))
			return fail(message, -EINVAL,
				    "%s=\"%s\" is not a local rank: it must be a decimal number "
				    "from 0 to %d", rank_variable,
				    quote(rank_text, strlen(rank_text), shown), INT_MAX);
		choice->rank_variable = rank_variable;
		choice->local_rank = rank;
	}

	res.list = first_set(envp, visible_variables, ENV_ARRAY_SIZE(visible_variables),
			     &visible_variable);
	if (res.list) {
		choice->visible_variable = visible_variable;
		err = resolve_from_list(&res);
	} else if (!rank_text) {
		err = fail(message, -ENOENT,
			   "no local rank (LOCAL_RANK, SLURM_LOCALID, OMPI_COMM_WORLD_LOCAL_RANK, "
			   "MPI_LOCALRANKID) and no visible-devices list (CUDA_VISIBLE_DEVICES, "
			   "HIP_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES) is set, so which GPU is "
			   "this worker's is not known; give the GPU with --gpu");
	} else if ((unsigned int)rank >= nr_gpus) {
		err = fail(message, -ERANGE,
			   "%s=%d but the gpusched topology has %u GPU%s and no visible-devices "
			   "list is set%s", rank_variable, rank, nr_gpus, nr_gpus == 1 ? "" : "s",
			   nr_gpus ? "" : "; is gpuschedd running?");
	} else {
		/* Without a list every GPU is visible, and the rank counts them in PCI order. */
		choice->gpu = (unsigned int)rank;
		choice->source = GPUSCHED_GPU_FROM_RANK;
		describe_gpu(&gpus[rank], (unsigned int)rank, false, gpu_text, sizeof(gpu_text));
		snprintf(choice->explanation, sizeof(choice->explanation),
			 "%s=%d -> %s; no visible-devices list: the rank is the GPU index in PCI "
			 "bus order", rank_variable, rank, gpu_text);
		err = 0;
	}
	return err;
}
