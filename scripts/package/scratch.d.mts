/** Removes the scratch folders of processes that no longer exist; returns their paths. */
export function removeStaleScratch(dir?: string): string[];
/** A new folder `<tmp>/ec2ip-<label>-<pid>-XXXXXX`; the first call of a process also removes those left by dead processes. */
export function scratchDir(label: string): string;
