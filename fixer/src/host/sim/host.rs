//! [`Host`] on the simulated machine: each call read from or made on the [`Machine`]
//! through fault injection, refused where Windows refuses.

use super::machine::{find, is_child, path_key, same_path, service, service_mut, state_abs};
use super::*;
use std::collections::BTreeSet;

impl Host for SimHost {
    fn now(&self) -> Timestamp {
        self.inner.borrow().machine.now
    }

    fn computer_names(&self) -> HostResult<ComputerNames> {
        self.read(|m| Ok(m.names.clone()))
    }

    fn wine_prefix_owner(&self) -> HostResult<Option<String>> {
        Ok(None)
    }

    fn reg_key_exists(&self, key: &str) -> HostResult<bool> {
        self.read(|m| match m.hive_of(key) {
            Some((mount, rest)) => Ok(m
                .hives
                .get(&mount)
                .is_some_and(|h| h.root.find(&rest).is_some())),
            None => Ok(m.registry.contains_key(&key.to_lowercase())),
        })
    }

    fn reg_get(&self, key: &str, name: &str) -> HostResult<Option<RegValue>> {
        self.read(|m| match m.hive_of(key) {
            Some((mount, rest)) => Ok(m
                .hives
                .get(&mount)
                .and_then(|h| h.root.value(&rest, name))
                .cloned()),
            None => Ok(m.reg(key, name).cloned()),
        })
    }

    fn reg_set(&self, key: &str, name: &str, value: &RegValue) -> HostResult<()> {
        self.change(format!("reg set {key}\\{name} = {value}"), |m| {
            match in_hive(m, key) {
                Some((hive, rest)) => hive.root.set(&rest, name, value.clone()),
                // RegCreateKeyEx creates every missing key on the way.
                None => m.set_reg(key, name, value.clone()),
            }
            Ok(())
        })
    }

    fn reg_delete_value(&self, key: &str, name: &str) -> HostResult<()> {
        self.change(format!("reg delete {key}\\{name}"), |m| {
            if let Some((hive, rest)) = in_hive(m, key) {
                hive.root.delete_value(&rest, name);
            } else if let Some(values) = m.registry.get_mut(&key.to_lowercase()) {
                values.remove(&name.to_lowercase());
            }
            Ok(())
        })
    }

    fn reg_delete_empty_key(&self, key: &str) -> HostResult<()> {
        self.change(format!("reg delete key {key}"), |m| {
            if let Some((hive, rest)) = in_hive(m, key) {
                return hive
                    .root
                    .delete_empty_key(&rest)
                    .map_err(|why| HostError::failed(format!("key {key}"), why));
            }
            let lower = key.to_lowercase();
            let prefix = format!("{lower}\\");
            let has_subkeys = m.registry.keys().any(|k| k.starts_with(&prefix));
            match m.registry.get(&lower) {
                None => Ok(()),
                Some(values) if values.is_empty() && !has_subkeys => {
                    m.registry.remove(&lower);
                    Ok(())
                }
                Some(_) => Err(HostError::failed(format!("key {key}"), "key is not empty")),
            }
        })
    }

    fn service_status(&self, name: &str) -> HostResult<ServiceStatus> {
        self.read(|m| Ok(service(m, name)?.status.clone()))
    }

    fn service_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        self.read(|m| Ok(service(m, name)?.dependents.clone()))
    }

    fn service_running_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        self.read(|m| {
            let deps = &service(m, name)?.dependents;
            Ok(deps
                .iter()
                .filter(|d| service(m, d).is_ok_and(|s| s.status.state == ServiceState::Running))
                .cloned()
                .collect())
        })
    }

    fn service_stop(&self, name: &str, _wait: Duration) -> HostResult<()> {
        self.change(format!("service stop {name}"), |m| {
            let deps = service(m, name)?.dependents.clone();
            if deps.iter().any(|d| {
                service(m, d).is_ok_and(|s| s.status.state != ServiceState::Stopped)
            }) {
                return Err(HostError::Os {
                    what: format!("stop service {name}"),
                    code: 1051,
                    message: "a stop control has been sent to a service that other running services are dependent on".into(),
                });
            }
            service_mut(m, name)?.status.state = ServiceState::Stopped;
            Ok(())
        })
    }

    fn service_start(&self, name: &str, _wait: Duration) -> HostResult<()> {
        self.change(format!("service start {name}"), |m| {
            let svc = service_mut(m, name)?;
            if svc.status.start_type == StartType::Disabled {
                return Err(HostError::Os {
                    what: format!("start service {name}"),
                    code: 1058,
                    message: "the service cannot be started because it is disabled".into(),
                });
            }
            if svc.fails_to_start {
                return Err(HostError::Os {
                    what: format!("start service {name}"),
                    code: 1053,
                    message: "the service did not respond to the start or control request in a timely fashion".into(),
                });
            }
            if let Some(code) = svc.exits_after_start {
                svc.status.state = ServiceState::Stopped;
                return Err(HostError::Os {
                    what: format!("start service {name} (it stopped)"),
                    code,
                    message: "the service started, then stopped".into(),
                });
            }
            svc.status.state = ServiceState::Running;
            Ok(())
        })
    }

    fn service_set_start_type(&self, name: &str, start: StartType) -> HostResult<()> {
        self.change(format!("service config {name} start= {start}"), |m| {
            service_mut(m, name)?.status.start_type = start;
            Ok(())
        })
    }

    fn service_set_delayed_auto_start(&self, name: &str, delayed: bool) -> HostResult<()> {
        self.change(format!("service config {name} delayed= {delayed}"), |m| {
            service_mut(m, name)?.status.delayed_auto_start = delayed;
            Ok(())
        })
    }

    fn service_account(&self, name: &str) -> HostResult<String> {
        self.read(|m| Ok(service(m, name)?.account.clone()))
    }

    fn service_set_account(&self, name: &str, account: &str) -> HostResult<()> {
        self.change(format!("service config {name} obj= {account}"), |m| {
            service_mut(m, name)?.account = account.to_owned();
            Ok(())
        })
    }

    fn group_members(&self, group: &str) -> HostResult<Vec<String>> {
        self.read(|m| {
            m.check_access("group", &format!("members of {group}"))?;
            Ok(m.group(group)?.iter().cloned().collect())
        })
    }

    fn group_add_member(&self, group: &str, member: &str) -> HostResult<()> {
        let what = format!("group add {group} {member}");
        self.change(what.clone(), |m| {
            m.check_access("group", &what)?;
            if m.group_accounts.contains(member) {
                return Err(HostError::refused(
                    what,
                    "it is a group, not a user account; only user accounts are added",
                ));
            }
            if !m.accounts.contains(member) {
                return Err(HostError::Os {
                    what,
                    code: 1387,
                    message: "a member could not be added to or removed from the local group because the member does not exist".into(),
                });
            }
            if !m.group_mut(group)?.insert(member.to_owned()) {
                return Err(HostError::Os {
                    what,
                    code: 1378,
                    message: "the specified account name is already a member of the group"
                        .into(),
                });
            }
            Ok(())
        })
    }

    fn group_remove_member(&self, group: &str, member: &str) -> HostResult<()> {
        let what = format!("group remove {group} {member}");
        self.change(what.clone(), |m| {
            m.check_access("group", &what)?;
            if !m.group_mut(group)?.remove(member) {
                return Err(HostError::Os {
                    what,
                    code: 1377,
                    message: "the specified account name is not a member of the group".into(),
                });
            }
            Ok(())
        })
    }

    fn account_rights(&self, sid: &str) -> HostResult<Vec<String>> {
        self.read(|m| {
            m.check_access("lsa", &format!("rights of {sid}"))?;
            Ok(m.rights
                .get(sid)
                .map(|r| r.iter().cloned().collect())
                .unwrap_or_default())
        })
    }

    fn right_holders(&self, right: &str) -> HostResult<Vec<String>> {
        self.read(|m| {
            m.check_access("lsa", &format!("holders of {right}"))?;
            Ok(m.rights
                .iter()
                .filter(|(_, r)| r.contains(right))
                .map(|(sid, _)| sid.clone())
                .collect())
        })
    }

    fn account_rights_add(&self, sid: &str, right: &str) -> HostResult<()> {
        let what = format!("rights add {sid} {right}");
        self.change(what.clone(), |m| {
            m.check_access("lsa", &what)?;
            if !KNOWN_RIGHTS.contains(&right) {
                return Err(HostError::Os {
                    what,
                    code: 1313,
                    message: "a specified privilege does not exist".into(),
                });
            }
            m.rights
                .entry(sid.to_owned())
                .or_default()
                .insert(right.to_owned());
            Ok(())
        })
    }

    fn account_rights_remove(&self, sid: &str, right: &str) -> HostResult<()> {
        let what = format!("rights remove {sid} {right}");
        self.change(what.clone(), |m| {
            m.check_access("lsa", &what)?;
            if let Some(held) = m.rights.get_mut(sid) {
                held.remove(right);
                if held.is_empty() {
                    m.rights.remove(sid);
                }
            }
            Ok(())
        })
    }

    fn firewall_rule_enabled(&self, rule_id: &str) -> HostResult<Option<bool>> {
        self.read(|m| {
            m.check_access("firewall", &format!("firewall rule {rule_id}"))?;
            Ok(m.firewall.get(rule_id).copied())
        })
    }

    fn firewall_rule_set_enabled(&self, rule_id: &str, enabled: bool) -> HostResult<()> {
        let what = format!("firewall rule {rule_id} enabled= {enabled}");
        self.change(what.clone(), |m| {
            m.check_access("firewall", &what)?;
            let rule = m
                .firewall
                .get_mut(rule_id)
                .ok_or_else(|| HostError::NotFound {
                    what: format!("firewall rule {rule_id}"),
                })?;
            *rule = enabled;
            Ok(())
        })
    }

    fn firewall_profiles(&self) -> HostResult<Vec<FirewallProfile>> {
        self.read(|m| {
            m.check_access("firewall", "firewall profiles")?;
            Ok(m.firewall_profiles.clone())
        })
    }

    fn port_listener(&self, port: u16) -> HostResult<Option<PortListener>> {
        self.read(|m| Ok(m.listeners.get(&port).cloned()))
    }

    fn system_drive_space(&self) -> HostResult<DiskSpace> {
        self.read(|m| {
            m.disk.clone().ok_or_else(|| HostError::NotFound {
                what: "the system drive".into(),
            })
        })
    }

    fn cert_list(&self, _store: CertStore) -> HostResult<Vec<CertInfo>> {
        self.read(|m| Ok(m.certs.clone()))
    }

    fn cert_delete(&self, store: CertStore, thumbprint: &str) -> HostResult<()> {
        self.change(format!("cert delete {} {thumbprint}", store.name()), |m| {
            let before = m.certs.len();
            m.certs
                .retain(|c| !c.thumbprint.eq_ignore_ascii_case(thumbprint));
            if m.certs.len() == before {
                return Err(HostError::NotFound {
                    what: format!("certificate {thumbprint}"),
                });
            }
            Ok(())
        })
    }

    fn cert_add(&self, store: CertStore, cert: &CertInfo) -> HostResult<()> {
        let what = format!("cert add {} {}", store.name(), cert.thumbprint);
        self.change(what.clone(), |m| {
            // As Windows checks with CRYPT_ACQUIRE_COMPARE_KEY_FLAG after adding it back.
            if let Some(k) = cert
                .key
                .as_ref()
                .filter(|k| m.replaced_keys.contains(&k.container))
            {
                return Err(HostError::refused(
                    what,
                    format!(
                        "its private key ({}) is no longer the one it was made with; Windows \
                         made a new certificate and key, which RDP uses",
                        k.container
                    ),
                ));
            }
            m.certs
                .retain(|c| !c.thumbprint.eq_ignore_ascii_case(&cert.thumbprint));
            m.certs.push(cert.clone());
            Ok(())
        })
    }

    fn program_data(&self) -> PathBuf {
        PathBuf::from(r"C:\ProgramData")
    }

    fn fs_object(&self, path: &Path) -> HostResult<FsObject> {
        let key = path_key(path);
        self.read(|m| m.open(&key))
    }

    fn fs_children(&self, folder: &FsObject) -> HostResult<FsListing> {
        self.read(|m| {
            m.reopen(folder)?;
            let mut names: Vec<String> = m
                .known_paths()
                .into_iter()
                .filter(|p| is_child(&folder.path, p))
                .collect();
            names.sort_by_key(|p| p.to_lowercase());
            names.dedup_by(|a, b| same_path(a, b));
            let mut listing = FsListing::default();
            for path in names {
                let links = find(&m.links, &path).map_or(1, |(_, n)| *n);
                match m.open(&path) {
                    Ok(obj) if !obj.dir && links > 1 => listing.skipped.push(FsSkipped {
                        path,
                        reason: format!(
                            "a file with {links} hard links: its security is shared with a file elsewhere"
                        ),
                    }),
                    Ok(obj) => listing.objects.push(obj),
                    Err(HostError::Refused { reason, .. }) => {
                        listing.skipped.push(FsSkipped { path, reason });
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(listing)
        })
    }

    fn sd_read(&self, obj: &FsObject) -> HostResult<String> {
        self.read(|m| {
            m.reopen(obj)?;
            m.sddl(&obj.path)
        })
    }

    fn sd_write(&self, obj: &FsObject, expect: &str, write: &SdWrite) -> HostResult<()> {
        let what = format!(
            "acl set {} owner={} dacl={}",
            obj.path,
            write.owner.as_deref().unwrap_or("-"),
            write.dacl.as_deref().unwrap_or("-")
        );
        self.change(what, |m| {
            m.reopen(obj)?;
            let current = m.sddl(&obj.path)?;
            let new = super::sd_after_write(&obj.path, &current, expect, write)?;
            let slot = find(&m.security, &obj.path).map(|(p, _)| p.clone());
            m.security
                .insert(slot.unwrap_or_else(|| obj.path.clone()), new);
            Ok(())
        })
    }

    fn create_admin_dir(&self, path: &Path) -> HostResult<Made> {
        let key = path_key(path);
        if self.read(|m| Ok(m.exists(&key)))? {
            return Ok(Made::Existed);
        }
        self.change(format!("mkdir {key}"), |m| {
            if same_path(&key, STATE_DIR) {
                m.state_dir_sddl = Some(SAFE_STATE_SDDL.into());
            } else {
                m.dirs.insert(key.clone());
                m.security.insert(key.clone(), SAFE_STATE_SDDL.into());
            }
            Ok(Made::Created)
        })
    }

    fn state_dir(&self) -> PathBuf {
        PathBuf::from(STATE_DIR)
    }

    fn state_read(&self, rel: &str) -> HostResult<Option<Vec<u8>>> {
        self.read(|m| Ok(m.state_files.get(rel).cloned()))
    }

    fn state_write(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        self.change(format!("state write {rel}"), |m| {
            m.state_files.insert(rel.to_owned(), bytes.to_vec());
            Ok(())
        })
    }

    fn state_append(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        let half = bytes.get(..bytes.len() / 2).unwrap_or_default().to_vec();
        self.change_or_tear(
            format!("state append {rel}"),
            |m| {
                m.state_files
                    .entry(rel.to_owned())
                    .or_default()
                    .extend_from_slice(bytes);
                Ok(())
            },
            |m| {
                m.state_files
                    .entry(rel.to_owned())
                    .or_default()
                    .extend_from_slice(&half);
            },
        )
    }

    fn state_truncate(&self, rel: &str, len: u64) -> HostResult<()> {
        self.change(format!("state truncate {rel} to {len}"), |m| {
            let file = m
                .state_files
                .get_mut(rel)
                .ok_or_else(|| HostError::NotFound { what: rel.into() })?;
            file.truncate(usize::try_from(len).unwrap_or(usize::MAX));
            Ok(())
        })
    }

    fn state_create_dir(&self, rel: &str) -> HostResult<()> {
        self.change(format!("state mkdir {rel}"), |m| {
            let prefix = format!("{rel}/");
            if m.state_dirs.contains(rel) || m.state_files.keys().any(|k| k.starts_with(&prefix)) {
                return Err(HostError::Exists {
                    what: state_abs(rel),
                });
            }
            m.state_dirs.insert(rel.to_owned());
            Ok(())
        })
    }

    fn state_list(&self, rel: &str) -> HostResult<Vec<String>> {
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        self.read(|m| {
            let names: BTreeSet<String> = m
                .state_files
                .keys()
                .chain(m.state_dirs.iter())
                .filter_map(|k| k.strip_prefix(&prefix))
                .filter_map(|rest| rest.split('/').next())
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
            Ok(names.into_iter().collect())
        })
    }

    fn lock(&self, _wait: Duration) -> HostResult<()> {
        let mut inner = self.inner.borrow_mut();
        if inner.crashed {
            return Err(HostError::Crashed {
                what: "lock".into(),
            });
        }
        if inner.machine.lock_held {
            return Err(HostError::Busy {
                what: format!("{STATE_DIR}\\lock"),
            });
        }
        inner.machine.lock_held = true;
        Ok(())
    }

    fn unlock(&self) {
        self.inner.borrow_mut().machine.lock_held = false;
    }

    fn log_export(&self, export: &LogExport, dir: &Path, file: &str) -> HostResult<PathBuf> {
        let dest = format!("{}\\{file}", path_key(dir));
        self.change(format!("log export {} -> {dest}", export.channel), |m| {
            let text = m
                .logs
                .get(&export.channel)
                .cloned()
                .ok_or_else(|| HostError::Os {
                    what: format!("wevtutil epl {}", export.channel),
                    code: 15007,
                    message: "the specified channel could not be found".into(),
                })?;
            m.exported.insert(dest.clone(), text);
            Ok(PathBuf::from(&dest))
        })
    }

    /// Recorded in `exported` under the archive's path: its members, one per line.
    fn zip_logs(&self, dir: &Path, files: &[PathBuf]) -> HostResult<LogBundle> {
        let dest = format!("{}\\{}", path_key(dir), crate::bundle::FILE_NAME);
        let folder = path_key(dir)
            .rsplit('\\')
            .next()
            .unwrap_or("rdpfix-logs")
            .to_owned();
        self.change(format!("zip logs -> {dest}"), |m| {
            let mut bytes = 0u64;
            let mut zip = crate::bundle::ZipOut::new(std::io::Cursor::new(Vec::new()), &folder);
            let failed =
                |e: std::io::Error| HostError::failed(format!("zip {dest}"), e.to_string());
            for f in files {
                let key = path_key(f);
                let text = m
                    .exported
                    .get(&key)
                    .ok_or_else(|| HostError::NotFound { what: key.clone() })?;
                bytes += text.len() as u64;
                let name = key.rsplit('\\').next().unwrap_or(&key);
                zip.add(name, &mut text.as_bytes()).map_err(failed)?;
            }
            let (archive, members) = zip.finish().map_err(failed)?;
            m.zips.insert(dest.clone(), archive.into_inner());
            m.exported.insert(dest.clone(), members.join("\n"));
            Ok(LogBundle {
                path: dest.clone(),
                bytes,
                members,
            })
        })
    }

    /// Recorded in `exported` under its path: the bytes as text, or the copied file's text.
    fn collect_file(&self, dir: &Path, name: &str, from: FileSource<'_>) -> HostResult<PathBuf> {
        let dest = format!("{}\\{name}", path_key(dir));
        self.change(format!("write {dest}"), |m| {
            let text = match from {
                FileSource::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                FileSource::CopyOf(f) => {
                    let key = path_key(f);
                    m.exported
                        .get(&key)
                        .cloned()
                        .ok_or(HostError::NotFound { what: key })?
                }
            };
            m.exported.insert(dest.clone(), text);
            Ok(PathBuf::from(&dest))
        })
    }

    fn log_query_text(&self, export: &LogExport, _max: u32) -> HostResult<String> {
        self.read(|m| {
            m.logs
                .get(&export.channel)
                .cloned()
                .ok_or_else(|| HostError::Os {
                    what: format!("wevtutil qe {}", export.channel),
                    code: 15007,
                    message: "the specified channel could not be found".into(),
                })
        })
    }

    fn disk_roots(&self) -> HostResult<Vec<PathBuf>> {
        self.read(|m| {
            let mut roots: Vec<String> = m
                .disk_files
                .keys()
                .filter(|p| {
                    p.get(2..).is_some_and(|rest| {
                        rest.eq_ignore_ascii_case(r"\Windows\System32\config\SOFTWARE")
                    })
                })
                .filter_map(|p| p.get(..2))
                .filter(|d| !d.eq_ignore_ascii_case("C:"))
                .map(|d| format!("{}\\", d.to_uppercase()))
                .collect();
            roots.dedup();
            Ok(roots.into_iter().map(PathBuf::from).collect())
        })
    }

    fn disk_read(&self, path: &Path, max: u64) -> HostResult<Vec<u8>> {
        let key = path_key(path);
        self.read(|m| {
            m.check_no_links(&key)?;
            let bytes = find(&m.disk_files, &key)
                .map(|(_, f)| f.0.clone())
                .ok_or_else(|| HostError::NotFound { what: key.clone() })?;
            if bytes.len() as u64 > max {
                return Err(HostError::refused(
                    &key,
                    format!("it is larger than the {max} bytes rdpfix reads of it"),
                ));
            }
            Ok(bytes)
        })
    }

    /// In place: each read copies only the bytes asked for out of the disk's file (what
    /// the memory test of an offline apply measures).
    fn disk_open<'a>(&'a self, path: &Path, max: u64) -> HostResult<Box<dyn DiskReader + 'a>> {
        let key = path_key(path);
        let (name, len) = self.read(|m| {
            m.check_no_links(&key)?;
            let (name, file) = find(&m.disk_files, &key)
                .ok_or_else(|| HostError::NotFound { what: key.clone() })?;
            Ok((name.clone(), file.0.len() as u64))
        })?;
        if len > max {
            return Err(HostError::refused(
                &key,
                format!("it is larger than the {max} bytes rdpfix reads of it"),
            ));
        }
        Ok(Box::new(SimDiskReader {
            host: self,
            name,
            at: 0,
        }))
    }

    fn disk_write(&self, path: &Path, bytes: &[u8]) -> HostResult<()> {
        let key = path_key(path);
        self.change(format!("disk write {key}"), |m| {
            m.check_no_links(&key)?;
            let slot = find(&m.disk_files, &key).map(|(p, _)| p.clone());
            m.disk_files
                .insert(slot.unwrap_or(key), DiskFile(bytes.to_vec()));
            Ok(())
        })
    }

    fn hive_load(&self, mount: &str, file: &Path) -> HostResult<()> {
        let key = path_key(file);
        self.change(format!("hive load {key} as {mount}"), |m| {
            m.check_no_links(&key)?;
            if m.hives.contains_key(&mount.to_lowercase())
                || m.registry.contains_key(&mount.to_lowercase())
            {
                return Err(HostError::Exists {
                    what: format!("HKLM\\{mount}"),
                });
            }
            let (name, bytes) = find(&m.disk_files, &key)
                .map(|(p, f)| (p.clone(), f.0.clone()))
                .ok_or_else(|| HostError::NotFound { what: key.clone() })?;
            let hive = SimHive::load(&name, &bytes)?;
            m.hives.insert(mount.to_lowercase(), hive);
            Ok(())
        })
    }

    fn hive_unload(&self, mount: &str) -> HostResult<()> {
        self.change(format!("hive unload {mount}"), |m| {
            let hive =
                m.hives
                    .remove(&mount.to_lowercase())
                    .ok_or_else(|| HostError::NotFound {
                        what: format!("HKLM\\{mount}"),
                    })?;
            if hive.dirty {
                m.disk_files
                    .insert(hive.file.clone(), DiskFile(hive.write()));
            }
            Ok(())
        })
    }

    fn task_dir(&self) -> PathBuf {
        PathBuf::from(TASK_DIR)
    }

    fn schedule_rollback(&self, plan_id: &str, deadline: Timestamp) -> HostResult<()> {
        self.change(format!("schedule rollback {plan_id} at {deadline}"), |m| {
            m.scheduled.insert(plan_id.to_owned(), deadline);
            Ok(())
        })
    }

    fn cancel_scheduled_rollback(&self, plan_id: &str) -> HostResult<()> {
        self.change(format!("cancel scheduled rollback {plan_id}"), |m| {
            m.scheduled.remove(plan_id);
            Ok(())
        })
    }
}
