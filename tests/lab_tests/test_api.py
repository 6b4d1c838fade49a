"""The engine API driven by the real ovirtsdk4: resources, search, follow, errors."""

from __future__ import annotations

import urllib.request

import ovirtsdk4
import ovirtsdk4.types as t
import pytest

from tests.lab.testing import LabHandle

pytestmark = pytest.mark.lab


def test_root_and_health(lab: LabHandle, lab_connection: ovirtsdk4.Connection) -> None:
    api = lab_connection.system_service().get()
    assert api.product_info.name == "oVirt Engine"
    assert api.product_info.version.major == 4
    assert api.summary.hosts.total == 4
    health = lab.info["engine"]["http_url"].replace("/api", "/services/health")
    with urllib.request.urlopen(health, timeout=5) as response:
        assert response.read() == b"DB Up!Welcome to Health Status!"


def test_bad_credentials_raise_auth_error(lab: LabHandle) -> None:
    connection = lab.connection(password="wrong")
    with pytest.raises(ovirtsdk4.AuthError, match="access_denied"):
        connection.system_service().get()
    connection.close(logout=False)


def test_sso_login_logout_and_request_counts(lab: LabHandle) -> None:
    lab.reset_stats()
    connection = lab.connection()
    connection.system_service().hosts_service().list()
    connection.system_service().hosts_service().list()
    connection.close()
    stats = lab.stats()
    assert stats["sso_logins"] == 1
    assert stats["sso_logouts"] == 1
    assert stats["by_path"]["GET /ovirt-engine/api/hosts"] == 2
    assert stats["total"] == 4


def test_plain_http_and_tls_without_ca(lab: LabHandle) -> None:
    http = lab.connection(url=lab.info["engine"]["http_url"], ca_file=None)
    assert len(http.system_service().hosts_service().list()) == 4
    http.close()
    no_ca = lab.connection(ca_file="/etc/ssl/certs/ca-certificates.crt")
    with pytest.raises(ovirtsdk4.Error, match="60"):
        no_ca.system_service().get()
    no_ca.close(logout=False)


def test_host_search(lab_connection: ovirtsdk4.Connection) -> None:
    hosts = lab_connection.system_service().hosts_service()
    assert [h.name for h in hosts.list(search="name=host02")] == ["host02"]
    assert [h.name for h in hosts.list(search="NAME=HOST0*", max=2)] == ["host01", "host02"]
    assert len(hosts.list(search="status=up and cluster=Default")) == 4
    assert hosts.list(search="status=maintenance") == []
    assert len(hosts.list(search="*")) == 4
    with pytest.raises(ovirtsdk4.Error) as failure:
        hosts.list(search="bogusfield=1")
    assert failure.value.code == 400


def test_host_fields_and_all_content(lab_connection: ovirtsdk4.Connection) -> None:
    hosts = lab_connection.system_service().hosts_service()
    plain = hosts.list(search="name=host01")[0]
    assert plain.hosted_engine is None
    assert plain.status == t.HostStatus.UP
    assert plain.spm.status == t.SpmStatus.SPM
    assert plain.power_management.status is None
    full = hosts.list(search="name=host01", all_content=True)[0]
    assert full.hosted_engine.configured is True
    assert full.hosted_engine.score == 3400
    other = hosts.host_service(hosts.list(search="name=host04")[0].id).get(all_content=True)
    assert other.hosted_engine is None


def test_follow_inlines_links(lab_connection: ovirtsdk4.Connection) -> None:
    vms = lab_connection.system_service().vms_service().list(search="name=vm0002", follow="cluster,host")
    assert vms[0].cluster.name == "Default"
    assert vms[0].host.name == "host02"


def test_vm_search_by_host(lab_connection: ovirtsdk4.Connection) -> None:
    vms = lab_connection.system_service().vms_service().list(search="host=host04 and status=up")
    assert {v.name for v in vms} == {"vm0004", "vm0008", "vm0012", "vm0016", "vm0020"}


def test_unknown_ids_are_not_found(lab_connection: ovirtsdk4.Connection) -> None:
    system = lab_connection.system_service()
    for service in (system.hosts_service().host_service("0000"), system.vms_service().vm_service("0000"),
                    system.clusters_service().cluster_service("0000")):
        with pytest.raises(ovirtsdk4.NotFoundError):
            service.get()


def test_vm_update(lab_connection: ovirtsdk4.Connection) -> None:
    system = lab_connection.system_service()
    domain = system.storage_domains_service().list(search="name=data")[0]
    host = system.hosts_service().list(search="name=host03")[0]
    vm_service = system.vms_service().vm_service(system.vms_service().list(search="name=vm0010")[0].id)
    vm = vm_service.update(t.Vm(high_availability=t.HighAvailability(enabled=True, priority=100),
                                lease=t.StorageDomainLease(storage_domain=t.StorageDomain(id=domain.id)),
                                storage_error_resume_behaviour=t.VmStorageErrorResumeBehaviour.KILL,
                                placement_policy=t.VmPlacementPolicy(affinity=t.VmAffinity.USER_MIGRATABLE, hosts=[t.Host(name="host03")])))
    assert vm.high_availability.enabled and vm.high_availability.priority == 100
    assert vm.lease.storage_domain.id == domain.id
    assert vm.storage_error_resume_behaviour == t.VmStorageErrorResumeBehaviour.KILL
    assert vm.placement_policy.hosts[0].id == host.id
    vm = vm_service.update(t.Vm(high_availability=t.HighAvailability(enabled=False, priority=0), lease=t.StorageDomainLease(),
                                storage_error_resume_behaviour=t.VmStorageErrorResumeBehaviour.AUTO_RESUME,
                                placement_policy=t.VmPlacementPolicy(affinity=t.VmAffinity.MIGRATABLE, hosts=[])))
    assert vm.lease is None and not vm.high_availability.enabled
    with pytest.raises(ovirtsdk4.Error) as failure:
        vm_service.update(t.Vm(lease=t.StorageDomainLease(storage_domain=t.StorageDomain(id="nope"))))
    assert failure.value.code == 409


def test_vm_power_actions_and_409(lab: LabHandle, lab_connection: ovirtsdk4.Connection) -> None:
    vms = lab_connection.system_service().vms_service()
    vm_service = vms.vm_service(vms.list(search="name=vm0014")[0].id)
    with pytest.raises(ovirtsdk4.Error, match=r"\[Cannot run VM. VM is running.\]") as failure:
        vm_service.start()
    assert failure.value.code == 409
    vm_service.stop()
    assert vm_service.get().status == t.VmStatus.DOWN
    with pytest.raises(ovirtsdk4.Error, match="Cannot stop VM. VM is not running."):
        vm_service.stop()
    with pytest.raises(ovirtsdk4.Error, match="Cannot shutdown VM. VM is not running."):
        vm_service.shutdown()
    with pytest.raises(ovirtsdk4.Error, match="Cannot migrate VM. VM is not running."):
        vm_service.migrate()
    vm_service.start()
    assert vm_service.get().status == t.VmStatus.UP
    source = vm_service.get().host.id
    with pytest.raises(ovirtsdk4.Error, match="source and destination is the same"):
        vm_service.migrate(host=t.Host(id=source))
    vm_service.migrate(host=t.Host(name="host04"))
    assert vm_service.get(follow="host").host.name == "host04"
    vm_service.shutdown()
    assert vm_service.get().status == t.VmStatus.DOWN
    vm_service.start(vm=t.Vm(placement_policy=t.VmPlacementPolicy(hosts=[t.Host(name="host02")])))
    assert vm_service.get(follow="host").host.name == "host02"
    assert lab.state()["vm_counts"].get("down", 0) == 0


def test_host_maintenance_cycle(lab_connection: ovirtsdk4.Connection) -> None:
    hosts = lab_connection.system_service().hosts_service()
    host_service = hosts.host_service(hosts.list(search="name=host04")[0].id)
    with pytest.raises(ovirtsdk4.Error, match="Cannot activate Host. Host in Up status.") as failure:
        host_service.activate()
    assert failure.value.code == 409
    with pytest.raises(ovirtsdk4.Error, match="Please move Host to Maintenance mode first"):
        host_service.install()
    with pytest.raises(ovirtsdk4.Error, match="Host has to be in Maintenance mode in order to be stopped"):
        host_service.fence(fence_type="stop")
    host_service.deactivate()
    assert host_service.get().status == t.HostStatus.MAINTENANCE
    vms = lab_connection.system_service().vms_service().list(search="host=host04")
    assert vms == []
    with pytest.raises(ovirtsdk4.Error, match="already in Maintenance mode"):
        host_service.deactivate()
    host_service.install(deploy_hosted_engine=True)
    full = host_service.get(all_content=True)
    assert full.status == t.HostStatus.UP and full.hosted_engine.configured
    host_service.deactivate()
    host_service.install(undeploy_hosted_engine=True, activate=False)
    assert host_service.get().status == t.HostStatus.MAINTENANCE
    assert host_service.get(all_content=True).hosted_engine is None
    host_service.activate()
    assert host_service.get().status == t.HostStatus.UP


def test_fence_agents_crud_hides_passwords(lab: LabHandle, lab_connection: ovirtsdk4.Connection) -> None:
    hosts = lab_connection.system_service().hosts_service()
    host = hosts.list(search="name=host02")[0]
    agents = hosts.host_service(host.id).fence_agents_service()
    existing = agents.list()
    assert len(existing) == 1 and existing[0].password is None
    assert existing[0].port == lab.host("host02")["bmc"]["port"]
    added = agents.add(t.Agent(type="ipmilan", address="10.0.0.9", username="root", password="s3cret-pw", order=2,
                               options=[t.Option(name="lanplus", value="1")]))
    assert added.password is None and added.order == 2
    agent_service = agents.agent_service(added.id)
    assert agent_service.update(t.Agent(address="10.0.0.10", password="other")).address == "10.0.0.10"
    raw_request = urllib.request.Request(lab.info["engine"]["http_url"] + f"/hosts/{host.id}/fenceagents",
                                         headers={"Authorization": "Basic " + __import__("base64").b64encode(
                                             f"{lab.info['engine']['username']}:{lab.info['engine']['password']}".encode()).decode()})
    with urllib.request.urlopen(raw_request, timeout=5) as response:
        body = response.read()
    assert body.startswith(b"<agents>") and b"s3cret" not in body and b"other" not in body and b"password" not in body
    with pytest.raises(ovirtsdk4.Error) as failure:
        agents.add(t.Agent(username="x"))
    assert failure.value.code == 400
    agent_service.remove()
    assert len(agents.list()) == 1
    with pytest.raises(ovirtsdk4.NotFoundError):
        agent_service.get()


def test_fence_status_and_bad_type(lab_connection: ovirtsdk4.Connection) -> None:
    hosts = lab_connection.system_service().hosts_service()
    host_service = hosts.host_service(hosts.list(search="name=host03")[0].id)
    assert host_service.fence(fence_type="status").status == t.PowerManagementStatus.ON
    with pytest.raises(ovirtsdk4.Error) as failure:
        host_service.fence(fence_type="explode")
    assert failure.value.code == 400


def test_cluster_fencing_policy_update(lab_connection: ovirtsdk4.Connection) -> None:
    clusters = lab_connection.system_service().clusters_service()
    cluster = clusters.list(search="name=Default")[0]
    assert cluster.fencing_policy.enabled is True
    service = clusters.cluster_service(cluster.id)
    updated = service.update(t.Cluster(fencing_policy=t.FencingPolicy(
        enabled=True, skip_if_connectivity_broken=t.SkipIfConnectivityBroken(enabled=True, threshold=75),
        skip_if_sd_active=t.SkipIfSdActive(enabled=True))))
    assert updated.fencing_policy.skip_if_connectivity_broken.threshold == 75
    assert service.get().fencing_policy.skip_if_sd_active.enabled is True
    with pytest.raises(ovirtsdk4.Error) as failure:
        service.update(t.Cluster(fencing_policy=t.FencingPolicy(skip_if_connectivity_broken=t.SkipIfConnectivityBroken(threshold=150))))
    assert failure.value.code == 400
    service.update(t.Cluster(fencing_policy=t.FencingPolicy(
        enabled=True, skip_if_connectivity_broken=t.SkipIfConnectivityBroken(enabled=False, threshold=50),
        skip_if_sd_active=t.SkipIfSdActive(enabled=False))))


def test_storage_domains(lab_connection: ovirtsdk4.Connection) -> None:
    system = lab_connection.system_service()
    names = {sd.name for sd in system.storage_domains_service().list()}
    assert names == {"data", "hosted_storage"}
    dc = system.data_centers_service().list()[0]
    attached = system.data_centers_service().data_center_service(dc.id).storage_domains_service().list()
    assert {sd.status for sd in attached} == {t.StorageDomainStatus.ACTIVE}


def test_events_custom_id_is_unique_per_origin(lab_connection: ovirtsdk4.Connection) -> None:
    # the engine refuses a second external event with the same (origin, custom_id): no idempotent answer
    events = lab_connection.system_service().events_service()
    first = events.add(t.Event(description="playbook step 1", severity=t.LogSeverity.NORMAL, origin="ovirt_ha", custom_id=424242,
                               flood_rate=-1))
    with pytest.raises(ovirtsdk4.Error) as duplicate:
        events.add(t.Event(description="playbook step 1", severity=t.LogSeverity.NORMAL, origin="ovirt_ha", custom_id=424242,
                           flood_rate=-1))
    assert duplicate.value.code == 400
    assert "External Event with this custom id already exists" in str(duplicate.value)
    assert len(events.list(search="custom_event_id=424242")) == 1
    with pytest.raises(ovirtsdk4.Error) as failure:
        events.add(t.Event(severity=t.LogSeverity.NORMAL, origin="ovirt_ha"))
    assert failure.value.code == 400
    assert events.event_service(first.id).get().description == "playbook step 1"


def test_jobs_are_listed(lab_connection: ovirtsdk4.Connection) -> None:
    jobs = lab_connection.system_service().jobs_service()
    added = jobs.add(t.Job(description="lab test job", auto_cleared=True))
    assert added.status == t.JobStatus.STARTED
    jobs.job_service(added.id).end(succeeded=True)
    assert jobs.job_service(added.id).get().status == t.JobStatus.FINISHED
    assert any(j.description == "lab test job" for j in jobs.list())


def test_malformed_body_is_400(lab: LabHandle) -> None:
    hosts = lab.info["hosts"]
    request = urllib.request.Request(lab.info["engine"]["http_url"] + f"/hosts/{hosts[0]['id']}/deactivate", data=b"<action><broken",
                                     method="POST", headers={"Content-Type": "application/xml", "Authorization": "Basic " +
                                                             __import__("base64").b64encode(f"{lab.info['engine']['username']}:"
                                                                                            f"{lab.info['engine']['password']}".encode()).decode()})
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(request, timeout=5)  # pylint: disable=consider-using-with
    assert failure.value.code == 400


def test_follow_agents_and_power_management_update(lab_connection: ovirtsdk4.Connection) -> None:
    hosts = lab_connection.system_service().hosts_service()
    plain = hosts.list(search="name=host03")[0]
    assert not plain.agents
    followed = hosts.list(search="name=host03", follow="agents")[0]
    assert len(followed.agents) == 1 and followed.agents[0].type == "ipmilan" and followed.agents[0].password is None
    service = hosts.host_service(plain.id)
    updated = service.update(t.Host(power_management=t.PowerManagement(
        enabled=True, kdump_detection=False, pm_proxies=[t.PmProxy(type=t.PmProxyType.CLUSTER), t.PmProxy(type=t.PmProxyType.DC)])))
    assert [p.type for p in updated.power_management.pm_proxies] == [t.PmProxyType.CLUSTER, t.PmProxyType.DC]
    assert updated.power_management.kdump_detection is False
    service.update(t.Host(power_management=t.PowerManagement(kdump_detection=True, pm_proxies=[])))
    assert service.get().power_management.pm_proxies is None


def test_expired_token_is_renewed_once(lab: LabHandle) -> None:
    lab.reset_stats()
    connection = lab.connection(token="not-a-valid-token")
    assert len(connection.system_service().hosts_service().list()) == 4
    stats = lab.stats()
    assert stats["by_status"]["401"] == 1 and stats["sso_logins"] == 1
    connection.close()


def test_host_links_can_be_followed(lab_connection: ovirtsdk4.Connection) -> None:
    hosts = lab_connection.system_service().hosts_service()
    host = hosts.list(search="name=host01")[0]
    assert len(lab_connection.follow_link(host.nics)) == 0
    assert len(lab_connection.follow_link(host.statistics)) == 0
    service = hosts.host_service(host.id)
    assert service.nics_service().list() == [] and service.fence_agents_service().list()
