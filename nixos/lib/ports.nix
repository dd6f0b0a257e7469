# The ports each role serves on the node network. The role modules open exactly these in the host firewall;
# they match the GCP firewall rules of the network stack (a test compares them).
{
  ssh = 22;
  apiServer = 6443;
  etcdClient = 2379;
  etcdPeer = 2380;
  kubelet = 10250;
  # flannel's VXLAN backend (UDP).
  flannelVxlan = 8472;
}
