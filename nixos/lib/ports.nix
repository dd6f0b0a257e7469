# The ports each role serves on the node network. The role modules open exactly these in the host firewall;
# they match the GCP firewall rules of the network stack (a test compares them).
{
  ssh = 22;
  apiServer = 6443;
  etcdClient = 2379;
  etcdPeer = 2380;
  kubelet = 10250;
  # Secure (HTTPS) ports of kube-controller-manager and kube-scheduler, as kubeadm and upstream use them (nixpkgs'
  # defaults are the retired insecure ports 10252/10251). Bound to 127.0.0.1 on the control-plane hosts, so never
  # opened in a firewall; /healthz there is served to anonymous clients (the VM test probes it).
  controllerManager = 10257;
  scheduler = 10259;
  # flannel's VXLAN backend (UDP).
  flannelVxlan = 8472;
}
