// SPDX-License-Identifier: GPL-2.0
/*
 * The SPANK plugin's arguments: the site's defaults from plugstack.conf
 * ("policy=exclusive missing=fail") and a job's --gpusched value.  Policy
 * names are libgpusched's, so the plugin accepts exactly what
 * `gpusched exec --policy` accepts, plus "off".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpusched_slurm.h"

void gs_slurm_config_init(struct gs_slurm_config *config)
{
	memset(config, 0, sizeof(*config));
	config->policy = GPUSCHED_POLICY_DEFAULT;
	config->missing = GS_SLURM_WARN;
	config->nofit = GS_SLURM_FAIL;
	config->mem_policy = GPUSCHED_MEM_NONE;
	snprintf(config->gres_conf, sizeof(config->gres_conf), "/etc/slurm/gres.conf");
	snprintf(config->device, sizeof(config->device), "%s", GPUSCHED_DEVICE);
}

int gs_slurm_policy_parse(const char *value, int *policy, unsigned int *cores, char *message)
{
	const char *colon = strchr(value, ':');
	char name[32];
	size_t len = colon ? (size_t)(colon - value) : strlen(value);
	int parsed;

	*cores = 0;
	if (len >= sizeof(name))
		goto bad;
	memcpy(name, value, len);
	name[len] = '\0';
	if (!strcmp(name, "off") && !colon) {
		*policy = GS_SLURM_POLICY_OFF;
		return 0;
	}
	parsed = gpusched_policy_parse(name);
	if (parsed < 0)
		goto bad;
	if (colon) {
		char *end;
		unsigned long n;

		if (parsed != GPUSCHED_POLICY_EXCLUSIVE || colon[1] < '1' || colon[1] > '9')
			goto bad;
		errno = 0;
		n = strtoul(colon + 1, &end, 10);
		if (*end || errno || n > 65536)
			goto bad;
		*cores = n;
	}
	*policy = parsed;
	return 0;
bad:
	snprintf(message, GPUSCHED_MESSAGE_SIZE,
		 "\"%s\": expected node, socket, exclusive, exclusive:CORES, l3, single, default or off",
		 value);
	return -EINVAL;
}

static int parse_on_error(const char *key, const char *value, enum gs_slurm_on_error *out,
			  char *message)
{
	if (!strcmp(value, "fail")) {
		*out = GS_SLURM_FAIL;
		return 0;
	}
	if (!strcmp(value, "warn")) {
		*out = GS_SLURM_WARN;
		return 0;
	}
	snprintf(message, GPUSCHED_MESSAGE_SIZE, "%s=%s: expected %s=fail or %s=warn", key, value,
		 key, key);
	return -EINVAL;
}

static int parse_path(const char *key, const char *value, char *out, size_t size, char *message)
{
	if (value[0] != '/' || strlen(value) >= size) {
		snprintf(message, GPUSCHED_MESSAGE_SIZE, "%s=%s: expected an absolute path", key,
			 value);
		return -EINVAL;
	}
	strcpy(out, value);
	return 0;
}

int gs_slurm_config_arg(struct gs_slurm_config *config, const char *arg, char *message)
{
	const char *eq = strchr(arg, '=');
	const char *value = eq ? eq + 1 : "";
	size_t key_len = eq ? (size_t)(eq - arg) : strlen(arg);
	char key[16];
	int err, mode;

	if (!eq || key_len >= sizeof(key)) {
		snprintf(message, GPUSCHED_MESSAGE_SIZE,
			 "\"%s\": expected key=value with key policy, missing, nofit, mem_policy, verbose, gres_conf, device or sysfs_root",
			 arg);
		return -EINVAL;
	}
	memcpy(key, arg, key_len);
	key[key_len] = '\0';

	if (!strcmp(key, "policy")) {
		err = gs_slurm_policy_parse(value, &config->policy, &config->cores, message);
		if (err) {
			char why[GPUSCHED_MESSAGE_SIZE];

			snprintf(why, sizeof(why), "%s", message);
			snprintf(message, GPUSCHED_MESSAGE_SIZE, "policy=%.500s", why);
		}
		return err;
	}
	if (!strcmp(key, "missing"))
		return parse_on_error(key, value, &config->missing, message);
	if (!strcmp(key, "nofit"))
		return parse_on_error(key, value, &config->nofit, message);
	if (!strcmp(key, "mem_policy")) {
		mode = gpusched_mem_policy_parse(value);
		if (mode < 0) {
			snprintf(message, GPUSCHED_MESSAGE_SIZE,
				 "mem_policy=%s: expected none, bind, preferred or interleave", value);
			return -EINVAL;
		}
		config->mem_policy = mode;
		return 0;
	}
	if (!strcmp(key, "verbose")) {
		if (strcmp(value, "yes") && strcmp(value, "no")) {
			snprintf(message, GPUSCHED_MESSAGE_SIZE,
				 "verbose=%s: expected verbose=yes or verbose=no", value);
			return -EINVAL;
		}
		config->verbose = !strcmp(value, "yes");
		return 0;
	}
	if (!strcmp(key, "gres_conf"))
		return parse_path(key, value, config->gres_conf, sizeof(config->gres_conf), message);
	if (!strcmp(key, "device"))
		return parse_path(key, value, config->device, sizeof(config->device), message);
	if (!strcmp(key, "sysfs_root"))
		return parse_path(key, value, config->sysfs_root, sizeof(config->sysfs_root),
				  message);
	snprintf(message, GPUSCHED_MESSAGE_SIZE,
		 "unknown argument \"%s\": the keys are policy, missing, nofit, mem_policy, verbose, gres_conf, device and sysfs_root",
		 arg);
	return -EINVAL;
}
