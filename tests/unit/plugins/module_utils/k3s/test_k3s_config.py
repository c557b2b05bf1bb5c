# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s rendering: config.yaml, drop-ins, registries.yaml and the systemd units, against k3s's documented formats."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
import yaml

from ansible_collections.picocloud.edge.plugins.module_utils import workload
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import config

FIRST = {'role': 'server', 'cluster_init': True, 'node_name': 'pi-1', 'node_ip': '192.168.50.11',
         'vip': '192.168.50.10', 'tls_san': ['k3s.site.lan', '192.168.50.10'], 'disable': ['traefik', 'servicelb'],
         'flannel_iface': 'eth0', 'kubelet_args': ['max-pods=60', 'image-gc-high-threshold=80']}
JOINER = dict(FIRST, cluster_init=False, server_url='https://192.168.50.11:6443', node_name='pi-2',
              node_ip='192.168.50.12')
AGENT = {'role': 'agent', 'server_url': 'https://192.168.50.10:6443', 'node_name': 'pi-4', 'node_ip': '192.168.50.14',
         'flannel_iface': 'eth0', 'kubelet_args': ['max-pods=40']}

# The unit k3s's install.sh writes (create_systemd_service_file, k3s-io/k3s install.sh at 0136cf2) for
# INSTALL_K3S_EXEC=server and no further arguments: BIN_DIR=/usr/local/bin, SYSTEMD_TYPE=notify,
# FILE_K3S_ENV=/etc/systemd/system/k3s.service.env, CMD_K3S_EXEC='server \' (quote_indent with no args).
INSTALL_SH_SERVER_UNIT = """[Unit]
Description=Lightweight Kubernetes
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-/etc/systemd/system/k3s.service.env
KillMode=process
Delegate=yes
User=root
# Having non-zero Limit*s causes performance problems due to accounting overhead
# in the kernel. We recommend using cgroups to do container-local accounting.
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/k3s \\
    server \\

"""


def _load(text):
    assert text.startswith('# Managed by picocloud.edge')
    return yaml.safe_load(text)


def test_first_server_gets_cluster_init_token_file_and_no_token():
    data = _load(config.render_config(FIRST))
    assert data == {
        'cluster-init': True,
        'token-file': '/etc/rancher/k3s/cluster-token',
        'node-name': 'pi-1',
        'node-ip': '192.168.50.11',
        'tls-san': ['192.168.50.10', 'k3s.site.lan'],
        'write-kubeconfig-mode': '0600',
        'disable': ['traefik', 'servicelb'],
        'flannel-iface': 'eth0',
        'kubelet-arg': ['max-pods=60', 'image-gc-high-threshold=80'],
    }
    assert 'token' not in data and 'server' not in data


def test_joining_server_names_the_server_it_joins_and_has_no_cluster_init():
    data = _load(config.render_config(JOINER))
    assert data['server'] == 'https://192.168.50.11:6443'
    assert 'cluster-init' not in data
    assert data['token-file'] == '/etc/rancher/k3s/cluster-token'
    assert data['tls-san'][0] == '192.168.50.10'


def test_single_server_without_ha_has_neither_cluster_init_nor_server():
    data = _load(config.render_config({'role': 'server', 'node_ip': '10.0.0.1'}))
    assert data == {'token-file': '/etc/rancher/k3s/cluster-token', 'node-ip': '10.0.0.1',
                    'write-kubeconfig-mode': '0600'}


def test_agent_gets_server_token_file_and_node_settings_only():
    data = _load(config.render_config(AGENT))
    assert data == {'server': 'https://192.168.50.10:6443', 'token-file': '/etc/rancher/k3s/cluster-token',
                    'node-name': 'pi-4', 'node-ip': '192.168.50.14', 'flannel-iface': 'eth0',
                    'kubelet-arg': ['max-pods=40']}


def test_external_datastore_servers_need_neither_cluster_init_nor_server():
    data = _load(config.render_config({'role': 'server', 'datastore_endpoint': 'postgres://k3s@db.site:5432/k3s',
                                       'datastore_cafile': '/etc/rancher/k3s/db-ca.pem'}))
    assert data['datastore-endpoint'] == 'postgres://k3s@db.site:5432/k3s'
    assert data['datastore-cafile'] == '/etc/rancher/k3s/db-ca.pem'
    assert 'cluster-init' not in data and 'server' not in data


def test_external_containerd_is_named_by_its_socket():
    data = _load(config.render_config(dict(AGENT, container_runtime_endpoint='unix:///run/containerd/containerd.sock')))
    assert data['container-runtime-endpoint'] == 'unix:///run/containerd/containerd.sock'


def test_dual_stack_node_ip_is_one_comma_separated_value():
    data = _load(config.render_config(dict(AGENT, node_ip=['192.168.50.14', 'fd00::14'])))
    assert data['node-ip'] == '192.168.50.14,fd00::14'


def test_extra_flags_are_appended_after_the_rendered_ones():
    data = _load(config.render_config(dict(FIRST, extra={'secrets-encryption': True, 'node-taint': [
        'CriticalAddonsOnly=true:NoExecute']})))
    assert list(data)[-2:] == ['secrets-encryption', 'node-taint']


@pytest.mark.parametrize('settings, message', [
    ({'role': 'master'}, "role: 'master' must be server or agent"),
    (dict(AGENT, tls_san=['x.lan']), "tls_san: \\['x.lan'\\] is a server setting; k3s agent refuses it"),
    (dict(AGENT, cluster_init=True), 'cluster_init: True is a server setting'),
    (dict(AGENT, server_url=None), 'an agent needs the URL of a server to join'),
    (dict(FIRST, server_url='https://192.168.50.12:6443'), 'the first server initialises the cluster'),
    (dict(FIRST, datastore_endpoint='mysql://x'), 'an external datastore needs neither cluster-init'),
    (dict(JOINER, datastore_endpoint='mysql://x'), 'servers on an external datastore do not join'),
    (dict(AGENT, server_url='http://192.168.50.10:6443'), 'must be https://<host>:<port>'),
    (dict(AGENT, server_url='https://192.168.50.10:6443/v1-k3s'), 'must be https://<host>:<port>'),
    (dict(AGENT, node_ip='192.168.50'), "node_ip: '192.168.50' is not an IP address"),
    (dict(FIRST, vip='k3s.lan'), "vip: 'k3s.lan' is not an IP address"),
    (dict(FIRST, tls_san=['bad name']), "tls_san: 'bad name' is neither an IP address nor a DNS name"),
    (dict(FIRST, disable=['Traefik']), "disable: 'Traefik' is not a packaged component name"),
    (dict(FIRST, flannel_iface='eth0; reboot'), "flannel_iface: 'eth0; reboot' is not a network interface name"),
    (dict(FIRST, kubelet_args=['max-pods']), "kubelet_args: 'max-pods' is not a kubelet flag as name=value"),
    (dict(FIRST, node_name='Pi_1'), "node_name: 'Pi_1' is not a valid Kubernetes node name"),
    (dict(FIRST, token_file='cluster-token'), "token_file: 'cluster-token' must be an absolute path"),
    (dict(FIRST, container_runtime_endpoint='tcp://10.0.0.1:1234'), 'must be a unix socket path'),
    (dict(FIRST, extra={'token': 'secret'}), "extra: 'token' is a secret"),
    (dict(FIRST, extra={'agent-token': 'secret'}), "extra: 'agent-token' is a secret"),
    (dict(FIRST, extra={'write-kubeconfig-mode': '0644'}), "extra: 'write-kubeconfig-mode' is set by the role"),
    (dict(AGENT, extra={'disable': ['traefik']}), "extra: 'disable' is a server flag"),
    (dict(FIRST, extra={'Bad_Flag': 1}), "extra: 'Bad_Flag' is not a k3s flag name"),
    (dict(FIRST, extra={'node-label': ['a=b\nc']}), 'must be a list of strings without control characters'),
])
def test_bad_settings_are_refused_naming_the_field(settings, message):
    with pytest.raises(K3sError, match=message):
        config.render_config(settings)


def test_a_refused_secret_is_not_echoed_back():
    with pytest.raises(K3sError) as info:
        config.render_config(dict(FIRST, extra={'token': 'K10abc::server:verysecret'}))
    assert 'verysecret' not in str(info.value)


def test_rendering_is_stable_so_a_rerun_writes_the_same_bytes():
    assert config.render_config(FIRST) == config.render_config(dict(FIRST))


def test_drop_in_is_named_for_alphabetical_order_and_may_append_with_plus():
    dropin = config.dropin('50-site', {'node-label+': ['zone=garage'], 'kube-apiserver-arg': ['audit-log-maxage=7']})
    assert dropin['path'] == 'config.yaml.d/50-site.yaml'
    assert _load(dropin['content']) == {'node-label+': ['zone=garage'], 'kube-apiserver-arg': ['audit-log-maxage=7']}


@pytest.mark.parametrize('name, data, role, message', [
    ('site', {}, 'server', "name: 'site' must be NN-word"),
    ('50-site', {'token': 'x'}, 'server', "drop-in 50-site: 'token' is a secret"),
    ('50-site', {'token-file': '/tmp/t'}, 'server', "drop-in 50-site: 'token-file' is set by the role"),
    ('50-site', {'tls-san+': ['x']}, 'agent', "drop-in 50-site: 'tls-san\\+' is a server flag"),
])
def test_bad_drop_ins_are_refused(name, data, role, message):
    with pytest.raises(K3sError, match=message):
        config.dropin(name, data, role=role)


def test_registries_point_docker_io_and_site_names_at_the_site_registry_with_its_tls_files():
    data = _load(config.render_registries({
        'url': 'https://registry.site:5000', 'namespaces': ['docker.io', 'registry.site'],
        'tls': {'ca_file': '/etc/picocloud/ca.pem', 'cert_file': '/etc/picocloud/client.pem',
                'key_file': '/etc/picocloud/client-key.pem'}}))
    assert data == {
        'mirrors': {
            'registry.site:5000': {'endpoint': ['https://registry.site:5000']},
            'docker.io': {'endpoint': ['https://registry.site:5000']},
            'registry.site': {'endpoint': ['https://registry.site:5000']},
        },
        'configs': {'registry.site:5000': {'tls': {
            'ca_file': '/etc/picocloud/ca.pem', 'cert_file': '/etc/picocloud/client.pem',
            'key_file': '/etc/picocloud/client-key.pem'}}},
    }


def test_registries_wildcard_is_quoted_as_k3s_requires():
    text = config.render_registries({'url': 'https://registry.site:5000', 'namespaces': ['*']})
    assert "'*':" in text
    assert _load(text)['mirrors']['*'] == {'endpoint': ['https://registry.site:5000']}


@pytest.mark.parametrize('registry, message', [
    ({'url': 'registry.site:5000'}, "url: 'registry.site:5000' must be the http\\(s\\) URL"),
    ({'url': 'https://r:5000', 'namespaces': ['docker.io/library']}, "namespaces: 'docker.io/library' is not"),
    ({'url': 'https://r:5000', 'tls': {'key_file': '/k.pem'}}, 'needs both cert_file and key_file'),
    ({'url': 'https://r:5000', 'tls': {'ca_file': 'ca.pem'}}, "tls.ca_file: 'ca.pem' must be an absolute path"),
])
def test_bad_registry_settings_are_refused(registry, message):
    with pytest.raises(K3sError, match=message):
        config.render_registries(registry)


def test_server_unit_is_the_text_install_sh_writes():
    assert config.render_unit('server') == INSTALL_SH_SERVER_UNIT


def test_agent_unit_differs_from_the_server_unit_only_in_env_file_and_role():
    expected = INSTALL_SH_SERVER_UNIT.replace('k3s.service.env', 'k3s-agent.service.env').replace(
        '    server \\', '    agent \\')
    assert config.render_unit('agent') == expected
    assert config.unit_name('agent') == 'k3s-agent.service'
    assert config.unit_name('server') == 'k3s.service'


def test_unit_bin_dir_follows_install_sh_bin_dir():
    assert 'ExecStart=/opt/bin/k3s \\\n    server \\\n' in config.render_unit('server', bin_dir='/opt/bin/')


def test_unit_for_an_external_containerd_wants_and_orders_after_it_and_is_otherwise_install_sh_s():
    unit = config.render_unit('agent', needs=['containerd.service'])
    lines = unit.splitlines()
    assert lines[3:7] == ['Wants=network-online.target', 'After=network-online.target',
                          'Wants=containerd.service', 'After=containerd.service']
    # a restart of containerd must not restart k3s: no Requires=, BindsTo= or PartOf=
    assert not [line for line in lines if line.split('=')[0] in ('Requires', 'BindsTo', 'PartOf')]
    assert unit.replace('Wants=containerd.service\nAfter=containerd.service\n', '') == config.render_unit('agent')


NOT_A_UNIT = "needs: %s is not a systemd unit name (such as containerd.service)"


@pytest.mark.parametrize('role, bin_dir, needs, message', [
    ('master', '/usr/local/bin', (), "role: 'master' must be server or agent"),
    ('server', 'usr/local/bin', (), "bin_dir: 'usr/local/bin' must be an absolute path"),
    ('server', '/usr/local/bin', 'containerd.service', "needs: 'containerd.service' must be a list of systemd unit names"),
    ('server', '/usr/local/bin', ['containerd'], NOT_A_UNIT % "'containerd'"),
    ('server', '/usr/local/bin', ['containerd.service\nExecStartPre=/bin/sh'],
     NOT_A_UNIT % "'containerd.service\\nExecStartPre=/bin/sh'"),
    ('server', '/usr/local/bin', [None], NOT_A_UNIT % 'None'),
])
def test_bad_unit_settings_are_refused(role, bin_dir, needs, message):
    with pytest.raises(K3sError) as error:
        config.render_unit(role, bin_dir=bin_dir, needs=needs)
    assert str(error.value) == message


@pytest.mark.parametrize('address, port, url', [
    ('192.168.50.10', 6443, 'https://192.168.50.10:6443'),
    ('fd00::10', 6443, 'https://[fd00::10]:6443'),
    ('k3s.site.lan', 16443, 'https://k3s.site.lan:16443'),
])
def test_api_url_brackets_ipv6(address, port, url):
    assert config.api_url(address, port) == url
    assert config.server_url(url) == url


PI4_FACTS = {'arch': {'debian_arch': 'arm64'}, 'board': {'type': 'pi4'}, 'memory': {'nominal_mb': 4096}}


def test_node_labels_carry_board_memory_and_the_sites_placement_labels_under_the_picocloud_prefix():
    assert config.node_labels(PI4_FACTS, {'zone': 'rack-a'}) == [
        'picocloud.io/board=pi4', 'picocloud.io/memory_mb=4096', 'picocloud.io/zone=rack-a']
    # arch is k3s's own kubernetes.io/arch; a node that is not a Pi is board=none, as on the swarm
    assert config.node_labels({'arch': {'debian_arch': 'amd64'}}) == ['picocloud.io/board=none']
    # the site's labels win, as swarm_node_labels do on the swarm
    assert config.node_labels(PI4_FACTS, {'board': 'cm4'})[0] == 'picocloud.io/board=cm4'


def test_node_labels_are_the_names_the_workload_placement_selects():
    labels = dict(entry.split('=', 1) for entry in config.node_labels(PI4_FACTS, {'zone': 'rack-a'}))
    assert labels[workload.K8S_BOARD_LABEL] == 'pi4'
    assert labels[workload.K8S_LABEL_PREFIX + 'zone'] == 'rack-a'


@pytest.mark.parametrize('labels, message', [
    ({'zone': 'rack a'}, "labels.zone: 'rack a' is not a Kubernetes label value"),
    ({'zone': 'x' * 64}, "labels.zone: 'x{64}' is not a Kubernetes label value"),
    ({'zone': '-a'}, "labels.zone: '-a' is not a Kubernetes label value"),
    ({'zone/x': 'a'}, "labels: 'zone/x' is not a Kubernetes label name"),
    ({'': 'a'}, "labels: '' is not a Kubernetes label name"),
    (['zone=a'], r"labels: \['zone=a'\] must be a mapping"),
])
def test_bad_node_labels_are_refused_naming_the_label(labels, message):
    with pytest.raises(K3sError) as info:
        config.node_labels(PI4_FACTS, labels)
    assert re.fullmatch(message + r'.*', str(info.value), re.S), str(info.value)


@pytest.mark.parametrize('labels, taints', [
    (['zone=rack-a', 'picocloud.test/fault=blackhole', 'example.com/empty=', 'a_b.c-d=X_1.y-2', 'x' * 63 + '=' + 'y' * 63,
      'a' * 253 + '/n=v'],
     ['dedicated=gpu:NoSchedule', 'CriticalAddonsOnly=true:NoExecute', 'node-role.kubernetes.io/control-plane:NoSchedule',
      'spot=:PreferNoSchedule']),
])
def test_labels_and_taints_in_kubernetes_syntax_are_rendered_verbatim(labels, taints):
    data = _load(config.render_config(dict(AGENT, node_labels=labels, node_taints=taints)))
    assert data['node-label'] == labels
    assert data['node-taint'] == taints


_KEY = (" must be a name of at most 63 letters, digits, - _ . (starting and ending with a letter or digit), optionally "
        "after a lower-case DNS subdomain of at most 253 characters and /")
_VALUE = " must be empty or at most 63 letters, digits, - _ . (starting and ending with a letter or digit)"
_KUBE = (" namespace: the kubelet refuses kubernetes.io and k8s.io labels in --node-labels (node-role.kubernetes.io/* "
         "since Kubernetes 1.16), so the role refuses them; set such a label with kubectl label")


@pytest.mark.parametrize('label, message', [
    ('zone', "k3s_node_labels: 'zone' must be key=value, e.g. zone=rack-a"),
    ('yes', "k3s_node_labels: 'yes' must be key=value, e.g. zone=rack-a"),
    ('zone=rack a', "k3s_node_labels: 'zone=rack a' has no valid value: 'rack a'" + _VALUE),
    ('zone=a,b=c', "k3s_node_labels: 'zone=a,b=c' has no valid value: 'a,b=c'" + _VALUE),
    ('zone=' + 'a' * 64, "k3s_node_labels: 'zone=%s' has no valid value: '%s'" % ('a' * 64, 'a' * 64) + _VALUE),
    (' zone=a ', "k3s_node_labels: ' zone=a ' has no valid key: ' zone'" + _KEY),
    ('=a', "k3s_node_labels: '=a' has no valid key: ''" + _KEY),
    ('Example.com/zone=a', "k3s_node_labels: 'Example.com/zone=a' has no valid key: 'Example.com/zone'" + _KEY),
    ('a/b/c=d', "k3s_node_labels: 'a/b/c=d' has no valid key: 'a/b/c'" + _KEY),
    ('a' * 254 + '/n=v', "k3s_node_labels: '%s/n=v' has no valid key: '%s/n'" % ('a' * 254, 'a' * 254) + _KEY),
    ('node-role.kubernetes.io/worker=true',
     "k3s_node_labels: 'node-role.kubernetes.io/worker=true' is in the kubernetes.io" + _KUBE),
    ('kubernetes.io/hostname=x', "k3s_node_labels: 'kubernetes.io/hostname=x' is in the kubernetes.io" + _KUBE),
    ('node.k8s.io/x=y', "k3s_node_labels: 'node.k8s.io/x=y' is in the k8s.io" + _KUBE),
    (5, 'k3s_node_labels: 5 must be a non-empty string without control characters'),
])
def test_a_node_label_the_kubelet_would_refuse_is_refused_naming_k3s_node_labels(label, message):
    with pytest.raises(K3sError) as info:
        config.render_config(dict(AGENT, node_labels=[label]))
    assert str(info.value) == message


@pytest.mark.parametrize('taint, message', [
    ('dedicated=gpu', "k3s_node_taints: 'dedicated=gpu' must be key[=value]:Effect, e.g. dedicated=gpu:NoSchedule"),
    ('dedicated=gpu:NoSchedul',
     "k3s_node_taints: 'dedicated=gpu:NoSchedul' has effect 'NoSchedul'; it must be NoSchedule, PreferNoSchedule, "
     "NoExecute"),
    ('dedicated=gpu:', "k3s_node_taints: 'dedicated=gpu:' has effect ''; it must be NoSchedule, PreferNoSchedule, "
     "NoExecute"),
    ('dedicated=g pu:NoSchedule', "k3s_node_taints: 'dedicated=g pu:NoSchedule' has no valid value: 'g pu'" + _VALUE),
    ('a=b=c:NoExecute', "k3s_node_taints: 'a=b=c:NoExecute' has no valid value: 'b=c'" + _VALUE),
    ('a:b:NoExecute', "k3s_node_taints: 'a:b:NoExecute' has no valid key: 'a:b'" + _KEY),
    (':NoExecute', "k3s_node_taints: ':NoExecute' has no valid key: ''" + _KEY),
])
def test_a_node_taint_that_is_not_key_value_effect_is_refused_naming_k3s_node_taints(taint, message):
    with pytest.raises(K3sError) as info:
        config.render_config(dict(AGENT, node_taints=[taint]))
    assert str(info.value) == message


@pytest.mark.parametrize('key', ['s', 'server', 'data-dir', 'd', 'write-kubeconfig', 'o', 'private-registry', 'd+',
                                 'node-name', 'datastore-endpoint'])
def test_keys_whose_paths_the_role_hard_codes_and_short_flag_names_are_owned(key):
    with pytest.raises(K3sError) as info:
        config.render_config(dict(AGENT, extra={key: '/mnt/ssd/k3s'}))
    assert str(info.value) == ("k3s_agent_config_extra: %r is set by the role from its own variables; it cannot be "
                               "overridden here"
                               % (key,))
    with pytest.raises(K3sError) as info:
        config.dropin('50-site', {key: '/mnt/ssd/k3s'}, role='server')
    assert str(info.value) == ("drop-in 50-site: %r is set by the role from its own variables; it cannot be "
                               "overridden here" % (key,))
