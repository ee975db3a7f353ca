from provisioner.launch import main

main()
